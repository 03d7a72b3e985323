use super::*;

#[test]
fn keep_holds_every_filter_and_the_order_but_not_the_period_or_page() {
    let q: PageQuery = serde_urlencoded::from_str(
        "status=REJECTED&account=acme+co&days=7&page=3&sort=name&q=&bogus=1",
    )
    .unwrap();
    assert_eq!(q.keep(), "account=acme+co&sort=name&status=REJECTED");
    assert_eq!(q.period(), (Some("7"), None, None));
    assert_eq!(q.list_query().account.as_deref(), Some("acme co"));
}

#[test]
fn values_that_mean_something_in_a_url_are_encoded() {
    assert_eq!(encode([("q", "a&b=c/d?e#f")]), "q=a%26b%3Dc%2Fd%3Fe%23f");
    assert_eq!(encode_value("/templates?x=1"), "%2Ftemplates%3Fx%3D1");
}
