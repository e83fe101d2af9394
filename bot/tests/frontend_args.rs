//! The shared option rules (`bot::frontend::args`): every front end's raw values in, checked
//! arguments or a message naming the option out. Moved here from the Discord front end, plus a
//! table of every rule as each front end meets it.

use bot::discord::commands::AUDIT_PAGES as DISCORD;
use bot::frontend::args::{self, PageLimits};
use bot::frontend::{
    AuditArgs, AuditInput, BalanceArgs, Failure, MoveArgs, MoveInput, OptionError, Who,
};
use bot::service::Target;
use shared::TxnId;

const TEXT: PageLimits = bot::cli::PAGES;
/// 2026-12-04 12:00:00 UTC.
const NOW: i64 = 1_796_385_600_000;
const DAY: i64 = 86_400_000;
/// 2026-12-01 00:00:00 UTC.
const DEC1: i64 = NOW - 3 * DAY - 12 * 3_600_000;

#[test]
fn options_parse_or_name_the_problem() {
    assert_eq!(args::parse_user(" 156 "), Ok(Target::Id(156)));
    assert_eq!(
        args::parse_user("@Builder_Man"),
        Ok(Target::Name("Builder_Man".into()))
    );
    assert_eq!(args::parse_user("   "), Err(OptionError::EmptyUser));
    assert_eq!(
        args::parse_user("0"),
        Err(OptionError::UserIdRange("0".into()))
    );
    assert_eq!(
        args::parse_user("9007199254740992"),
        Err(OptionError::UserIdRange("9007199254740992".into()))
    );
    for bad in [
        "ab",
        "_abc",
        "abc_",
        "a__b",
        "a_b_c",
        "name with space",
        "x".repeat(21).as_str(),
        "<@123>",
        "ümlaut",
    ] {
        assert_eq!(
            args::parse_user(bad),
            Err(OptionError::BadUsername),
            "{bad}"
        );
    }
    assert_eq!(
        args::parse_amount(0, 100),
        Err(OptionError::Amount { max: 100 })
    );
    assert_eq!(
        args::parse_amount(101, 100),
        Err(OptionError::Amount { max: 100 })
    );
    assert_eq!(
        args::parse_amount(-5, 100),
        Err(OptionError::Amount { max: 100 })
    );
    assert_eq!(args::parse_amount(100, 100), Ok(100));
    assert_eq!(args::parse_reason("  prize  "), Ok("prize".into()));
    assert_eq!(args::parse_reason(" "), Err(OptionError::Reason));
    assert_eq!(args::parse_reason("a\nb"), Err(OptionError::Reason));
    assert_eq!(
        args::parse_reason(&"é".repeat(201)),
        Err(OptionError::Reason)
    );
    assert_eq!(
        args::parse_reason(&"é".repeat(200)).map(|s| s.chars().count()),
        Ok(200)
    );
    assert_eq!(args::parse_txn(None), Ok(None));
    assert_eq!(args::parse_txn(Some("  ")), Ok(None));
    assert_eq!(args::parse_txn(Some("not-a-txn")), Err(OptionError::Txn));
    let id = TxnId::generate();
    assert_eq!(args::parse_txn(Some(id.as_str())), Ok(Some(id)));
    assert_eq!(args::parse_limit(None, DISCORD), Ok(10));
    assert_eq!(args::parse_limit(Some(10), DISCORD), Ok(10));
    assert_eq!(
        args::parse_limit(Some(0), DISCORD),
        Err(OptionError::Limit { max: 10 })
    );
    assert_eq!(
        args::parse_limit(Some(11), DISCORD),
        Err(OptionError::Limit { max: 10 })
    );
    // The first bad option is reported, with a message that names it.
    let input = MoveInput {
        user: Some("someone".into()),
        member: None,
        amount: 0,
        reason: "".into(),
        txn: Some("x".into()),
    };
    let err = MoveArgs::parse(&input, 1_000).unwrap_err();
    assert_eq!(err, OptionError::Amount { max: 1_000 });
    assert!(err.to_string().starts_with("`amount`"));
}

fn move_input(user: &str, amount: i64, reason: &str, txn: Option<&str>) -> MoveInput {
    MoveInput {
        user: Some(user.into()),
        member: None,
        amount,
        reason: reason.into(),
        txn: txn.map(str::to_owned),
    }
}

#[test]
fn every_move_rule_as_a_table() {
    let txn = TxnId::generate();
    let ok = |target: Target, amount: i64, reason: &str, replay: Option<TxnId>| {
        Ok(MoveArgs {
            target: Who::Player(target),
            amount,
            reason: reason.into(),
            replay,
        })
    };
    let cases: Vec<(MoveInput, Result<MoveArgs, OptionError>)> = vec![
        (
            move_input("1001", 5, "prize", None),
            ok(Target::Id(1001), 5, "prize", None),
        ),
        (
            move_input(" @Alice ", 100, "  prize  ", Some(txn.as_str())),
            ok(
                Target::Name("Alice".into()),
                100,
                "prize",
                Some(txn.clone()),
            ),
        ),
        (move_input("", 5, "x", None), Err(OptionError::EmptyUser)),
        (
            move_input("a-b", 5, "x", None),
            Err(OptionError::BadUsername),
        ),
        (
            move_input("x".repeat(40).as_str(), 5, "x", None),
            Err(OptionError::BadUsername),
        ),
        (
            move_input("0", 5, "x", None),
            Err(OptionError::UserIdRange("0".into())),
        ),
        (
            move_input("alice", 0, "x", None),
            Err(OptionError::Amount { max: 100 }),
        ),
        (
            move_input("alice", 101, "x", None),
            Err(OptionError::Amount { max: 100 }),
        ),
        (move_input("alice", 1, " ", None), Err(OptionError::Reason)),
        (
            move_input("alice", 1, "a\tb", None),
            Err(OptionError::Reason),
        ),
        (
            move_input("alice", 1, "r".repeat(201).as_str(), None),
            Err(OptionError::Reason),
        ),
        (
            move_input("alice", 1, "x", Some("nope")),
            Err(OptionError::Txn),
        ),
        (
            move_input("alice", 1, "x", Some("  ")),
            ok(Target::Name("alice".into()), 1, "x", None),
        ),
    ];
    for (input, expect) in cases {
        assert_eq!(MoveArgs::parse(&input, 100), expect, "{input:?}");
    }
}

#[test]
fn audit_pages_are_a_front_end_parameter_and_other_options_are_shared() {
    let input = |limit: Option<i64>| AuditInput {
        limit,
        ..AuditInput::default()
    };
    assert_eq!(
        AuditArgs::parse(&input(None), DISCORD, NOW).unwrap().limit,
        10
    );
    assert_eq!(AuditArgs::parse(&input(None), TEXT, NOW).unwrap().limit, 20);
    assert_eq!(
        AuditArgs::parse(&input(Some(100)), TEXT, NOW)
            .unwrap()
            .limit,
        100
    );
    assert_eq!(
        AuditArgs::parse(&input(Some(11)), DISCORD, NOW),
        Err(OptionError::Limit { max: 10 })
    );
    assert_eq!(
        AuditArgs::parse(&input(Some(101)), TEXT, NOW),
        Err(OptionError::Limit { max: 100 })
    );
    assert_eq!(
        AuditArgs::parse(&input(Some(-1)), TEXT, NOW),
        Err(OptionError::Limit { max: 100 })
    );
    assert!(
        OptionError::Limit { max: 100 }
            .to_string()
            .contains("from 1 to 100")
    );
    let full = AuditInput {
        user: Some("1001".into()),
        actor: Some(" 42 ".into()),
        limit: Some(3),
        cursor: Some(" c1 ".into()),
        ..AuditInput::default()
    };
    assert_eq!(
        AuditArgs::parse(&full, TEXT, NOW),
        Ok(AuditArgs {
            user: Some(Who::Player(Target::Id(1001))),
            actor: Some("42".into()),
            limit: 3,
            cursor: Some("c1".into()),
            since: None,
            until: None,
            totals: false,
        })
    );
    for bad in ["abc", "", "123456789012345678901", "-1"] {
        let input = AuditInput {
            actor: Some(bad.into()),
            ..AuditInput::default()
        };
        assert_eq!(
            AuditArgs::parse(&input, TEXT, NOW),
            Err(OptionError::Actor),
            "{bad}"
        );
    }
    let input = AuditInput {
        user: Some("a_".into()),
        ..AuditInput::default()
    };
    assert_eq!(
        AuditArgs::parse(&input, TEXT, NOW),
        Err(OptionError::BadUsername)
    );
    assert_eq!(BalanceArgs::parse("@@"), Err(OptionError::BadUsername));
}

#[test]
fn every_option_error_reads_the_same_in_every_front_end() {
    for e in [
        OptionError::EmptyUser,
        OptionError::UserIdRange("0".into()),
        OptionError::BadUsername,
        OptionError::Amount { max: 9 },
        OptionError::Reason,
        OptionError::Txn,
        OptionError::Limit { max: 10 },
        OptionError::Actor,
        OptionError::DateFormat("since"),
        OptionError::DateOffset("until"),
        OptionError::NoSuchDate("since"),
        OptionError::SinceFuture,
        OptionError::UntilFarAhead,
        OptionError::RangeOrder,
        OptionError::NotWithTotals("csv"),
    ] {
        let shared = Failure::Option(e.clone());
        let discord = bot::discord::error::CommandError::Option(e.clone());
        assert_eq!(shared.user_message("r"), discord.user_message("r"));
        assert_eq!(shared.metric_label(), discord.metric_label());
        assert!(shared.user_message("r").starts_with('`'), "{e}");
    }
}

/// A parsed range: (since, until) in Unix ms.
type Range = (Option<i64>, Option<i64>);

fn range(since: Option<&str>, until: Option<&str>) -> Result<Range, OptionError> {
    let input = AuditInput {
        since: since.map(str::to_owned),
        until: until.map(str::to_owned),
        ..AuditInput::default()
    };
    AuditArgs::parse(&input, TEXT, NOW).map(|a| (a.since, a.until))
}

#[test]
fn audit_ranges_accept_utc_dates_and_date_times() {
    let h = 3_600_000;
    let cases: [(Option<&str>, Option<&str>, Range); 11] = [
        (None, None, (None, None)),
        (Some("2026-12-01"), None, (Some(DEC1), None)),
        // A bare date as `until` includes that whole day.
        (None, Some("2026-12-01"), (None, Some(DEC1 + DAY))),
        (
            Some("2026-12-01"),
            Some("2026-12-01"),
            (Some(DEC1), Some(DEC1 + DAY)),
        ),
        (
            Some("2026-12-01 14:30"),
            None,
            (Some(DEC1 + 14 * h + 30 * 60_000), None),
        ),
        (
            Some("2026-12-01T14:30"),
            None,
            (Some(DEC1 + 14 * h + 30 * 60_000), None),
        ),
        (
            Some("2026-12-01T14:30:05Z"),
            None,
            (Some(DEC1 + 14 * h + 30 * 60_000 + 5_000), None),
        ),
        (
            Some(" 2026-12-01 00:00:01 "),
            None,
            (Some(DEC1 + 1_000), None),
        ),
        // A date-time `until` is the first instant left out.
        (
            None,
            Some("2026-12-02 06:00"),
            (None, Some(DEC1 + DAY + 6 * h)),
        ),
        // `until` up to two days ahead (a member ahead of UTC typing tomorrow's date).
        (None, Some("2026-12-05"), (None, Some(NOW + DAY + 12 * h))),
        // Empty options are absent.
        (Some(" "), Some(""), (None, None)),
    ];
    for (since, until, want) in cases {
        assert_eq!(range(since, until), Ok(want), "{since:?} {until:?}");
    }
    // Leap day.
    assert!(range(Some("2024-02-29"), None).is_ok());
}

#[test]
fn every_audit_range_refusal_names_the_option() {
    let cases: [(Option<&str>, Option<&str>, OptionError); 17] = [
        (Some("yesterday"), None, OptionError::DateFormat("since")),
        (Some("01/12/2026"), None, OptionError::DateFormat("since")),
        (Some("2026-12-1"), None, OptionError::DateFormat("since")),
        (
            Some("2026-12-01 14"),
            None,
            OptionError::DateFormat("since"),
        ),
        (
            Some("2026-12-01 14:3"),
            None,
            OptionError::DateFormat("since"),
        ),
        (
            Some("2026-12-01 14:30:05.5"),
            None,
            OptionError::DateFormat("since"),
        ),
        (
            None,
            Some("1796385600000"),
            OptionError::DateFormat("until"),
        ),
        (
            Some("2026-12-01T14:30+02:00"),
            None,
            OptionError::DateOffset("since"),
        ),
        (
            None,
            Some("2026-12-01 14:30-05:00"),
            OptionError::DateOffset("until"),
        ),
        (Some("2026-02-29"), None, OptionError::NoSuchDate("since")),
        (Some("2026-13-01"), None, OptionError::NoSuchDate("since")),
        (
            None,
            Some("2026-12-01 24:00"),
            OptionError::NoSuchDate("until"),
        ),
        (Some("1969-12-31"), None, OptionError::NoSuchDate("since")),
        (Some("2026-12-04 12:00:01"), None, OptionError::SinceFuture),
        (None, Some("2026-12-06"), OptionError::UntilFarAhead),
        (
            Some("2026-12-02"),
            Some("2026-12-01 23:59"),
            OptionError::RangeOrder,
        ),
        (
            Some("2026-12-01 10:00"),
            Some("2026-12-01 10:00"),
            OptionError::RangeOrder,
        ),
    ];
    for (since, until, want) in cases {
        assert_eq!(
            range(since, until),
            Err(want.clone()),
            "{since:?} {until:?}"
        );
        let text = want.to_string();
        assert!(text.starts_with('`'), "{text}");
    }
    assert!(
        OptionError::DateFormat("since")
            .to_string()
            .contains("2026-12-01 14:30")
    );
    assert!(
        OptionError::RangeOrder
            .to_string()
            .contains("`until` must be later than `since`")
    );
}

#[test]
fn totals_take_the_filters_and_range_but_not_paging_or_csv() {
    let totals = AuditInput {
        user: Some("alice".into()),
        since: Some("2026-12-01".into()),
        totals: true,
        ..AuditInput::default()
    };
    let args = AuditArgs::parse(&totals, DISCORD, NOW).unwrap();
    assert!(args.totals);
    assert_eq!(args.since, Some(DEC1));
    let with_cursor = AuditInput {
        cursor: Some("c1".into()),
        ..totals.clone()
    };
    assert_eq!(
        AuditArgs::parse(&with_cursor, TEXT, NOW),
        Err(OptionError::NotWithTotals("cursor"))
    );
    let with_csv = AuditInput {
        csv: true,
        ..totals.clone()
    };
    assert_eq!(
        AuditArgs::parse(&with_csv, DISCORD, NOW),
        Err(OptionError::NotWithTotals("csv"))
    );
    // Records with a CSV are fine.
    let records = AuditInput {
        csv: true,
        ..AuditInput::default()
    };
    assert!(AuditArgs::parse(&records, DISCORD, NOW).is_ok());
}

#[test]
fn a_command_names_its_player_one_way_user_or_member() {
    use bot::frontend::args::parse_who;
    use bot::frontend::{MemberRef, Who};
    let sam = MemberRef::in_server(42);
    assert_eq!(
        parse_who(Some("alice"), None),
        Ok(Who::Player(Target::Name("alice".into())))
    );
    assert_eq!(parse_who(None, Some(sam)), Ok(Who::Member(sam)));
    assert_eq!(
        parse_who(Some("alice"), Some(sam)),
        Err(OptionError::UserAndMember)
    );
    assert_eq!(parse_who(None, None), Err(OptionError::NoTarget));
    assert_eq!(parse_who(Some(""), None), Err(OptionError::EmptyUser));
    for e in [OptionError::UserAndMember, OptionError::NoTarget] {
        let text = e.to_string();
        assert!(
            text.contains("`user`") && text.contains("`member`"),
            "{text}"
        );
    }
    // An audit may name neither (all players), but not both.
    let both = AuditInput {
        user: Some("alice".into()),
        member: Some(sam),
        ..AuditInput::default()
    };
    assert_eq!(
        AuditArgs::parse(&both, TEXT, NOW),
        Err(OptionError::UserAndMember)
    );
    assert_eq!(
        AuditArgs::parse(&AuditInput::default(), TEXT, NOW).map(|a| a.user),
        Ok(None)
    );
}

#[tokio::test]
async fn a_member_is_refused_before_any_look_up_when_not_in_the_server_or_without_links() {
    use bot::frontend::member::member_link;
    use bot::frontend::{MemberRef, Members};
    use bot::service::{Refusal, ServiceError};
    let gone = MemberRef {
        id: 42,
        in_server: false,
    };
    let no_links = Members {
        guild_id: 1,
        links: None,
    };
    assert!(matches!(
        member_link(Some(no_links), gone).await,
        Err(ServiceError::Refused(Refusal::UnknownMember(42)))
    ));
    assert!(matches!(
        member_link(Some(no_links), MemberRef::in_server(42)).await,
        Err(ServiceError::Refused(Refusal::LinksNotConfigured))
    ));
    let text = Failure::from(ServiceError::from(Refusal::UnknownMember(42))).user_message("r");
    assert_eq!(
        text,
        "Discord user 42 is not a member of this server. Nothing moved."
    );
}
