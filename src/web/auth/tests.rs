use super::safe_next;

#[test]
fn login_redirects_only_to_paths_on_this_site() {
    let next = |s: &str| safe_next(Some(s.to_string()));
    assert_eq!(
        next("/templates?status=PENDING"),
        "/templates?status=PENDING"
    );
    for hostile in [
        "/\\evil.example",
        "/\t/evil.example",
        "//evil.example",
        "/\n/evil.example",
        "https://evil.example",
        "evil.example",
        "/\\/evil.example",
        "",
    ] {
        assert_eq!(next(hostile), "/", "{hostile:?}");
    }
    assert_eq!(safe_next(None), "/");
}
