// Says "N new changes — reload" on a page that is open while templar records changes.
// The page works without it; it only asks /api/changes every 30 seconds while visible.
(function () {
  var body = document.body;
  var url = body.getAttribute("data-changes");
  var banner = document.getElementById("live");
  if (!url || !banner) { return; }
  var link = banner.querySelector("a");
  function check() {
    if (document.hidden) { return Promise.resolve(); }
    return fetch(url, { credentials: "same-origin", headers: { "accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d || !d["new"]) { return; }
        link.textContent = d["new"] + (d["new"] === 1 ? " new change" : " new changes") + " — reload";
        link.setAttribute("href", window.location.href);
        banner.hidden = false;
      })
      .catch(function () {});
  }
  window.templarLiveCheck = check;
  setInterval(check, 30000);
})();
