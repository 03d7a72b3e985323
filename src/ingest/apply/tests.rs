use super::*;

#[test]
fn read_implies_delivered_and_sent_and_nothing_moves_back() {
    let p = advance(&Progress::default(), Delivery::Read, 30);
    assert_eq!(
        (p.sent_at, p.delivered_at, p.read_at),
        (Some(30), Some(30), Some(30))
    );
    let q = advance(&p, Delivery::Delivered, 20);
    assert_eq!(q, p, "a late delivered changes nothing");
    let f = advance(&Progress::default(), Delivery::Failed, 5);
    let g = advance(&f, Delivery::Sent, 1);
    assert_eq!(
        (g.sent_at, g.failed_at),
        (Some(1), Some(5)),
        "a late sent is still a fact"
    );
    let h = advance(
        &advance(&Progress::default(), Delivery::Sent, 1),
        Delivery::Failed,
        5,
    );
    assert_eq!(g, h, "order does not matter");
}
