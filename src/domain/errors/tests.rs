use super::*;

#[test]
fn every_code_either_table_knew_is_explained_with_an_action() {
    let codes = [
        131047, 131026, 131049, 131050, 131051, 131056, 130429, 130472, 131048, 131042, 131031,
        131030, 133010, 132000, 132001, 132005, 132007, 132012, 132015, 132016, 132018, 135000,
        190,
    ];
    for code in codes {
        let i = known(code).unwrap_or_else(|| panic!("{code} unknown"));
        assert!(!i.meaning.ends_with('.'), "{code}");
        assert!(i.action.ends_with('.'), "{code}");
    }
    assert_eq!(known(999_999), None);
    assert_eq!(
        explain(132_999).action,
        "Check the template's status and its parameters."
    );
    assert_eq!(
        sentence(131049).unwrap(),
        "Meta held back this marketing message to keep the customer's engagement healthy \
         (per-user marketing limit) (131049): send fewer marketing messages to this person; \
         do not retry within 24 hours"
    );
}
