//! The text a host shows or logs and the wire strings it sends (issue 17: `as_str` and
//! `Display` mutants): `payresult`'s values, outcomes, every reason's documented form,
//! refusals, and the small classifiers a host relies on. Public API only.

mod common;

use common::*;
use facepay_fsm::codes::{PayErrCode, ReverseErrCode, SdkReturnCode, TradeState};
use facepay_fsm::*;

/// `payresult` of updateWxpayfacePayResult: "SUCCESS" or "ERROR" (docs/protocol.md).
#[test]
fn pay_result_wire_strings() {
    assert_eq!(PayResult::Success.as_str(), "SUCCESS");
    assert_eq!(PayResult::Error.as_str(), "ERROR");
}

#[test]
fn outcomes_print_their_names() {
    let shown: Vec<String> = [
        Outcome::Paid,
        Outcome::NotPaid,
        Outcome::Reversed,
        Outcome::NeedsReconciliation,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(shown, ["Paid", "NotPaid", "Reversed", "NeedsReconciliation"]);
}

/// Reason's documented form: the variant's snake_case wire name, then the code it carries.
#[test]
fn every_reason_prints_its_wire_name_and_code() {
    let table = [
        (Reason::SubmitSucceeded, "submit_succeeded"),
        (Reason::Declined(PayErrCode::NotEnough), "declined NOTENOUGH"),
        (Reason::TradeState(TradeState::Success), "trade_state SUCCESS"),
        (Reason::ReverseConfirmed, "reverse_confirmed"),
        (Reason::ReverseBudgetExhausted, "reverse_budget_exhausted"),
        (
            Reason::ReverseRefused(ReverseErrCode::ReverseExpire),
            "reverse_refused REVERSE_EXPIRE",
        ),
        (Reason::JournalDamaged, "journal_damaged"),
        (Reason::UserCancelled, "user_cancelled"),
        (Reason::CashierCancelled, "cashier_cancelled"),
        (Reason::FacepayNotAuthorised, "facepay_not_authorised"),
        (Reason::AuthInfoUnavailable, "auth_info_unavailable"),
        (Reason::ScanFailed(SdkReturnCode::Error), "scan_failed ERROR"),
        (Reason::ScanTimedOut, "scan_timed_out"),
        (Reason::UnreadableAnswer, "unreadable_answer"),
        (Reason::CredentialReused, "credential_reused"),
        (Reason::SdkLost, "sdk_lost"),
        (Reason::Released, "released"),
    ];
    for (reason, want) in table {
        assert_eq!(reason.to_string(), want, "{reason:?}");
    }
}

#[test]
fn every_refusal_says_why_in_words_of_its_own() {
    let all = [
        Refusal::NotStarted,
        Refusal::AlreadyStarted,
        Refusal::Busy,
        Refusal::Settling,
        Refusal::NothingToCancel,
        Refusal::NotAuthorised,
        Refusal::OrderAlreadySubmitted,
        Refusal::Released,
    ];
    let texts: Vec<String> = all.iter().map(ToString::to_string).collect();
    for (r, t) in all.iter().zip(&texts) {
        assert!(t.len() > 10, "{r:?}: {t:?}");
        assert_eq!(texts.iter().filter(|o| *o == t).count(), 1, "{r:?} shares its text");
    }
    assert_eq!(
        Refusal::Settling.to_string(),
        "an order is settling; money may be moving"
    );
    assert!(Refusal::OrderAlreadySubmitted.to_string().contains("out_trade_no"));
}

#[test]
fn only_refusals_and_invalid_requests_turn_a_request_away() {
    let away = [
        DiagnosticKind::Refused(Refusal::Busy),
        DiagnosticKind::InvalidRequest(FieldError::Empty { field: Field::Appid }),
    ];
    let not = [
        DiagnosticKind::StaleAnswer(RequestId(3)),
        DiagnosticKind::UnreadableAnswer(SdkCallKind::GetWxpayfaceCode),
        DiagnosticKind::NotAPaymentCode,
        DiagnosticKind::TimeWentBackwards,
    ];
    for kind in away {
        assert!(kind.turns_away(), "{kind:?}");
        let c = Command::Diagnostic(Diagnostic {
            state: StateId::Idle,
            kind,
        });
        assert_eq!(c.refusal(), Some(kind));
    }
    for kind in not {
        assert!(!kind.turns_away(), "{kind:?}");
        let c = Command::Diagnostic(Diagnostic {
            state: StateId::Idle,
            kind,
        });
        assert_eq!(c.refusal(), None);
    }
    assert_eq!(Command::Notify(Notice::Ready).refusal(), None);
}

#[test]
fn every_sdk_call_names_its_kind_and_method() {
    let calls = [
        (
            SdkCall::InitWxpayface(InitParams::default()),
            SdkCallKind::InitWxpayface,
            "initWxpayface",
        ),
        (
            SdkCall::GetWxpayfaceRawdata,
            SdkCallKind::GetWxpayfaceRawdata,
            "getWxpayfaceRawdata",
        ),
        (
            SdkCall::StartCodeScanner,
            SdkCallKind::StartCodeScanner,
            "startCodeScanner",
        ),
        (
            SdkCall::StopCodeScanner,
            SdkCallKind::StopCodeScanner,
            "stopCodeScanner",
        ),
        (
            SdkCall::StopWxpayface {
                authinfo: AuthInfo::empty(),
            },
            SdkCallKind::StopWxpayface,
            "stopWxpayface",
        ),
        (
            SdkCall::UpdateWxpayfacePayResult(PayResultCall {
                merchant: merchant(),
                authinfo: AuthInfo::empty(),
                payresult: PayResult::Error,
            }),
            SdkCallKind::UpdateWxpayfacePayResult,
            "updateWxpayfacePayResult",
        ),
        (
            SdkCall::ReleaseWxpayface,
            SdkCallKind::ReleaseWxpayface,
            "releaseWxpayface",
        ),
    ];
    for (call, kind, method) in calls {
        assert_eq!(call.kind(), kind);
        assert_eq!(kind.method(), method);
    }
    // The two calls with request maps, as the session issues them.
    let mut h = H::scanning(FaceCodeType::Facepay);
    let face = h.all.iter().find_map(|(_, c)| match c {
        Command::Sdk { call, .. } if matches!(call, SdkCall::GetWxpayfaceCode(_)) => Some(call.kind()),
        _ => None,
    });
    assert_eq!(face, Some(SdkCallKind::GetWxpayfaceCode));
    h.app(AppEvent::Cancel);
    h.app(AppEvent::IdentifyUser(member_lookup(FaceAuthType::FaceidOnce)));
    assert_eq!(
        h.s.waiting_on().sdk.map(|(_, k)| k),
        Some(SdkCallKind::GetWxpayfaceUserInfo)
    );
    assert!(h.all.iter().any(|(_, c)| matches!(
        c,
        Command::Sdk {
            call: SdkCall::GetWxpayfaceUserInfo(_),
            ..
        }
    )));
}

#[test]
fn backend_call_kinds_name_their_api() {
    let names: Vec<&str> = [
        BackendCallKind::GetAuthInfo,
        BackendCallKind::Submit,
        BackendCallKind::Query,
        BackendCallKind::Reverse,
    ]
    .iter()
    .map(|k| k.name())
    .collect();
    assert_eq!(names, ["get_wxpayface_authinfo", "micropay", "orderquery", "reverse"]);
}

#[test]
fn waiting_on_names_the_open_calls() {
    let mut h = H::querying();
    assert!(h.s.waiting_on().is_empty(), "between polls nothing is open");
    h.at(10_100);
    let w = h.s.waiting_on();
    assert!(!w.is_empty());
    let (id, kind) = w.backend.expect("the query");
    assert_eq!(kind, BackendCallKind::Query);
    assert!(w.contains(id));
    assert!(!w.contains(RequestId(id.0 + 1)));
    assert_eq!(w.sdk, None);
    // An SDK call alone.
    let s = H::scanning(FaceCodeType::Micropay).s.waiting_on();
    let (id, kind) = s.sdk.expect("the face scan");
    assert_eq!(kind, SdkCallKind::GetWxpayfaceCode);
    assert!(s.contains(id) && !s.is_empty() && s.backend.is_none());
    assert!(!s.contains(RequestId(id.0 + 1)));
}

#[test]
fn an_undrained_step_is_refused_and_says_how_many_wait() {
    let mut s = Session::new(Policy::default());
    let start = Event::App(AppEvent::Start {
        init: InitParams::default(),
        merchant: merchant(),
    });
    s.handle(Instant(0), &start).unwrap();
    let e = s.handle(Instant(1), &Event::App(AppEvent::Cancel)).unwrap_err();
    assert_eq!(e, HandleError::Undrained { pending: 1 });
    assert_eq!(
        e.to_string(),
        "1 command(s) from the previous step are not drained; poll_command first"
    );
    assert_eq!(
        s.handle_timeout(Instant(20_000)),
        Err(HandleError::Undrained { pending: 1 })
    );
}

#[test]
fn journal_errors_say_what_is_wrong_with_the_record() {
    let table = [
        (
            JournalError::TooShort { len: 10 },
            "journal record is 10 bytes, expected 64",
        ),
        (JournalError::BadMagic, "not a facepay journal record (bad magic)"),
        (
            JournalError::FutureVersion(9),
            "journal record version 9 is newer than this library's 1",
        ),
        (
            JournalError::Corrupt,
            "journal record checksum mismatch (torn write or damaged storage)",
        ),
        (
            JournalError::Malformed(Field::OutTradeNo),
            "journal record field `out_trade_no` is malformed",
        ),
    ];
    for (e, want) in table {
        assert_eq!(e.to_string(), want, "{e:?}");
    }
}

#[test]
fn policy_errors_name_the_setting_and_the_rule() {
    let table = [
        (
            PolicyError::Zero {
                setting: "poll_interval",
            },
            "`poll_interval` must be greater than zero",
        ),
        (
            PolicyError::ReverseTooEarly,
            "`reverse_not_before` must be at least 15000 ms (WeChat: reverse >= 15 s after submit)",
        ),
        (
            PolicyError::QueryBudgetTooShort,
            "`query_budget` must exceed `backend_deadline` + `first_query_delay`, or a timed-out submit is never queried",
        ),
        (
            PolicyError::Count {
                setting: "reverse_attempts",
            },
            "`reverse_attempts` must be between 1 and 50",
        ),
        (
            PolicyError::BackoffCap,
            "`reverse_backoff_max` must be at least `reverse_backoff`",
        ),
    ];
    for (e, want) in table {
        assert_eq!(e.to_string(), want, "{e:?}");
    }
}

#[test]
fn a_failed_journal_write_says_so() {
    assert_eq!(PersistError::WriteFailed.to_string(), "the journal write failed");
    assert_eq!(
        HandleError::NoPersistOutstanding.to_string(),
        "no journal write is awaiting acknowledgement"
    );
}

/// The command queue holds one step's worst case and a margin of two, and no more: each
/// slot is part of every `Session` (no heap), which an MCU host budgets for.
#[test]
fn the_command_queue_is_the_worst_step_and_a_margin_of_two() {
    assert_eq!(MAX_STEP_COMMANDS, 4);
    assert_eq!(OUTBOX_CAPACITY, 6);
}

/// A `time_end` that is not a WeChat timestamp is refused with what was expected (the
/// backend answer reader's message names the field's form).
#[cfg(feature = "std")]
#[test]
fn a_bad_wechat_timestamp_says_what_was_expected() {
    for bad in ["\"2026\"", "5"] {
        let e = serde_json::from_str::<WxTime>(bad).expect_err(bad).to_string();
        assert!(e.contains("expected a yyyyMMddHHmmss timestamp"), "{bad}: {e}");
    }
    let t: WxTime = serde_json::from_str("\"20261201061502\"").expect("a timestamp");
    assert_eq!(t, WxTime::parse(Field::TimeEnd, "20261201061502").unwrap());
}

#[test]
fn request_ids_and_answer_errors_read_as_documented() {
    assert_eq!(RequestId(7).to_string(), "#7");
    let shown: Vec<String> = [
        AnswerError::NullMap,
        AnswerError::MissingKey(Field::ReturnCode),
        AnswerError::NotAString(Field::ReturnCode),
        AnswerError::BadValue(FieldError::Empty { field: Field::Appid }),
        AnswerError::ReadFailed,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        shown,
        [
            "the callback map is null",
            "the callback map has no `return_code`",
            "`return_code` is not a string",
            &FieldError::Empty { field: Field::Appid }.to_string(),
            "reading the callback map failed",
        ]
    );
}

#[test]
fn payment_mismatches_name_their_field() {
    let all = [
        PaymentMismatch::TotalFee,
        PaymentMismatch::Payer,
        PaymentMismatch::TimeEnd,
    ];
    let names: Vec<&str> = all.iter().map(|m| m.as_str()).collect();
    assert_eq!(names, ["total_fee", "payer", "time_end"]);
    for m in all {
        let text = m.to_string();
        assert!(
            text.contains(m.as_str().split('_').next().unwrap_or_default()),
            "{text}"
        );
        assert!(text.len() > m.as_str().len(), "{text}");
    }
    assert_eq!(
        PaymentMismatch::TotalFee.to_string(),
        "the paid total_fee is not this order's amount"
    );
}

#[test]
fn an_sdk_version_prints_major_dot_minor() {
    assert_eq!(SdkVersion { major: 2, minor: 13 }.to_string(), "2.13");
}

#[test]
fn field_errors_name_the_field_and_what_is_wrong() {
    assert_eq!(
        FieldError::TooLong {
            field: Field::Appid,
            len: 40,
            cap: 32
        }
        .to_string(),
        "`appid` is 40 bytes, over its capacity of 32"
    );
    assert_eq!(
        FieldError::Empty { field: Field::Appid }.to_string(),
        "`appid` is required but empty"
    );
    assert_eq!(
        FieldError::Malformed {
            field: Field::VersionName
        }
        .to_string(),
        format!("`{}` does not have the documented form", Field::VersionName)
    );
    // Text's Debug is the string's, quoted, so a Debug-printed request reads plainly.
    let appid: AppId = ok(Text::new(Field::Appid, "wx1"));
    assert_eq!(format!("{appid:?}"), "\"wx1\"");
}
