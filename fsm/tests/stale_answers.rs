//! Late, duplicate and mismatched answers in every state that waits for one (issue 17).
//!
//! One rule, checked over the whole chart: an answer is taken exactly when its id and
//! kind are what [`Session::waiting_on`] names; anything else — an id never issued, the
//! id of a call already answered or abandoned, the pending id on an answer of another
//! kind — is reported as `StaleAnswer(id)` and changes nothing (state, open requests,
//! timers). The positions are built through the public API only, so the table survives
//! changes to the chart's internals.

mod common;

use common::positions::{positions, positions_of};
use common::*;
use facepay_fsm::*;

/// Every SDK call whose answer the session waits for (the stop calls have none).
const ANSWERED_SDK: [SdkCallKind; 7] = [
    SdkCallKind::InitWxpayface,
    SdkCallKind::GetWxpayfaceRawdata,
    SdkCallKind::GetWxpayfaceCode,
    SdkCallKind::GetWxpayfaceUserInfo,
    SdkCallKind::StartCodeScanner,
    SdkCallKind::UpdateWxpayfacePayResult,
    SdkCallKind::ReleaseWxpayface,
];

const BACKEND: [BackendCallKind; 4] = [
    BackendCallKind::GetAuthInfo,
    BackendCallKind::Submit,
    BackendCallKind::Query,
    BackendCallKind::Reverse,
];

/// A successful answer of `kind` to request `id`, as the SDK would send it.
fn sdk_answer(kind: SdkCallKind, id: RequestId) -> Event {
    let status = SdkStatus::success();
    Event::Sdk(match kind {
        SdkCallKind::InitWxpayface => SdkEvent::Initialised { id, status },
        SdkCallKind::GetWxpayfaceRawdata => SdkEvent::Rawdata {
            id,
            status,
            rawdata: ok(Text::new(Field::Rawdata, "RAW")),
        },
        SdkCallKind::GetWxpayfaceCode => SdkEvent::FaceCode {
            id,
            status,
            answer: FaceCodeAnswer {
                face_code: ok(Text::new(Field::FaceCode, PAY_CODE)),
                ..FaceCodeAnswer::default()
            },
        },
        SdkCallKind::GetWxpayfaceUserInfo => SdkEvent::UserInfo {
            id,
            status,
            user: UserInfo::default(),
        },
        SdkCallKind::StartCodeScanner => SdkEvent::CodeScanned {
            id,
            status,
            code: ok(Text::new(Field::CodeMsg, PAY_CODE)),
        },
        SdkCallKind::UpdateWxpayfacePayResult => SdkEvent::PayResultUpdated { id, status },
        SdkCallKind::ReleaseWxpayface => SdkEvent::Released { id, status },
        SdkCallKind::StopCodeScanner | SdkCallKind::StopWxpayface | SdkCallKind::ReportPaycode => {
            unreachable!("fire and forget: no answer")
        }
    })
}

fn unreadable(kind: SdkCallKind, id: RequestId) -> Event {
    Event::Sdk(SdkEvent::Unreadable {
        id,
        call: kind,
        error: AnswerError::NullMap,
    })
}

/// A backend answer of `kind` to request `id`. A transport failure is an answer of every
/// kind, so the table needs no per-kind payload (and survives payload changes).
fn backend_answer(kind: BackendCallKind, id: RequestId) -> Event {
    let e = TransportError::Timeout;
    Event::Backend(match kind {
        BackendCallKind::GetAuthInfo => BackendEvent::AuthInfo { id, answer: Err(e) },
        BackendCallKind::Submit => BackendEvent::Submitted { id, answer: Err(e) },
        BackendCallKind::Query => BackendEvent::Queried { id, answer: Err(e) },
        BackendCallKind::Reverse => BackendEvent::Reversed { id, answer: Err(e) },
    })
}

/// Every request id the session has issued so far.
fn issued(h: &H) -> Vec<RequestId> {
    let mut ids: Vec<RequestId> = h.all.iter().filter_map(|(_, c)| call_of(c).map(|(_, id)| id)).collect();
    ids.sort_by_key(|id| id.0);
    ids.dedup();
    ids
}

/// Feeds `e` (answering request `id`) and checks that it was reported stale and changed
/// nothing else.
fn assert_stale(h: &mut H, e: Event, id: RequestId, what: &str) {
    let (state, waiting, timer) = (h.state(), h.s.waiting_on(), h.s.next_timer());
    let out = h.ev(e);
    assert_eq!(
        out,
        vec![Command::Diagnostic(Diagnostic {
            state,
            kind: DiagnosticKind::StaleAnswer(id)
        })],
        "{state:?}: {what}"
    );
    assert_eq!(h.state(), state, "{what}");
    assert_eq!(h.s.waiting_on(), waiting, "{state:?}: {what}");
    assert_eq!(h.s.next_timer(), timer, "{state:?}: {what}");
}

fn is_stale(out: &[Command]) -> bool {
    diags(out).iter().any(|d| matches!(d, DiagnosticKind::StaleAnswer(_)))
}

#[test]
fn answers_to_ids_never_issued_are_stale_in_every_waiting_state() {
    for (state, mut h) in positions() {
        let never = RequestId(issued(&h).last().map_or(1, |id| id.0) + 1_000);
        for kind in ANSWERED_SDK {
            assert_stale(
                &mut h,
                sdk_answer(kind, never),
                never,
                &format!("{kind:?} never issued"),
            );
            assert_stale(&mut h, unreadable(kind, never), never, &format!("unreadable {kind:?}"));
        }
        for kind in BACKEND {
            assert_stale(
                &mut h,
                backend_answer(kind, never),
                never,
                &format!("{kind:?} never issued"),
            );
        }
        assert_eq!(h.state(), state);
    }
}

#[test]
fn late_answers_to_earlier_calls_are_stale_in_every_waiting_state() {
    for (state, mut h) in positions() {
        let open = h.s.waiting_on();
        let earlier: Vec<RequestId> = issued(&h).into_iter().filter(|id| !open.contains(*id)).collect();
        assert!(
            !earlier.is_empty() || state == StateId::Initializing,
            "{state:?} has no earlier call"
        );
        for id in earlier {
            for kind in ANSWERED_SDK {
                assert_stale(&mut h, sdk_answer(kind, id), id, &format!("late {kind:?} #{}", id.0));
                assert_stale(&mut h, unreadable(kind, id), id, &format!("late unreadable {kind:?}"));
            }
            for kind in BACKEND {
                assert_stale(
                    &mut h,
                    backend_answer(kind, id),
                    id,
                    &format!("late {kind:?} #{}", id.0),
                );
            }
        }
    }
}

#[test]
fn the_open_id_on_an_answer_of_another_kind_is_stale() {
    for (state, mut h) in positions() {
        let open = h.s.waiting_on();
        if let Some((id, pending)) = open.sdk {
            for kind in ANSWERED_SDK.into_iter().filter(|k| *k != pending) {
                assert_stale(&mut h, sdk_answer(kind, id), id, &format!("{kind:?} for {pending:?}"));
            }
            for kind in BACKEND {
                assert_stale(
                    &mut h,
                    backend_answer(kind, id),
                    id,
                    &format!("{kind:?} for {pending:?}"),
                );
            }
        }
        if let Some((id, pending)) = open.backend {
            for kind in BACKEND.into_iter().filter(|k| *k != pending) {
                assert_stale(
                    &mut h,
                    backend_answer(kind, id),
                    id,
                    &format!("{kind:?} for {pending:?}"),
                );
            }
            for kind in ANSWERED_SDK {
                assert_stale(&mut h, sdk_answer(kind, id), id, &format!("{kind:?} for {pending:?}"));
                assert_stale(
                    &mut h,
                    unreadable(kind, id),
                    id,
                    &format!("unreadable {kind:?} for {pending:?}"),
                );
            }
        }
        assert_eq!(h.state(), state);
    }
}

/// The awaited answer is taken (never reported stale); sent again, it is stale unless the
/// session still waits for that same request.
fn check_taken_then_duplicate(mut h: H, e: Event, id: RequestId, what: &str) {
    let (state, waiting) = (h.state(), h.s.waiting_on());
    let out = h.ev(e.clone());
    assert!(
        !is_stale(&out),
        "{state:?}: the awaited {what} was reported stale: {out:?}"
    );
    assert!(
        !out.is_empty() || h.state() != state || h.s.waiting_on() != waiting,
        "{state:?}: the awaited {what} had no effect"
    );
    if h.s.waiting_on().contains(id) {
        let again = h.ev(e);
        assert!(!is_stale(&again), "{state:?}: {what} still awaited but stale");
    } else {
        assert_stale(&mut h, e, id, &format!("duplicate {what} after {state:?}"));
    }
}

#[test]
fn the_awaited_answer_is_taken_and_its_duplicate_is_stale() {
    let mut seen = Vec::new();
    for (state, h) in positions() {
        let open = h.s.waiting_on();
        if let Some((id, kind)) = open.sdk {
            let e = sdk_answer(kind, id);
            check_taken_then_duplicate(positions_of(state), e, id, &format!("{kind:?}"));
            seen.push((state, format!("{kind:?}")));
        }
        if let Some((id, kind)) = open.backend {
            check_taken_then_duplicate(positions_of(state), backend_answer(kind, id), id, &format!("{kind:?}"));
            seen.push((state, format!("{kind:?}")));
        }
        drop(h);
    }
    assert_eq!(seen.len(), 13, "{seen:?}");
}

#[test]
fn an_unreadable_answer_to_the_open_call_is_taken_as_a_failed_answer() {
    for (state, h) in positions() {
        let Some((id, kind)) = h.s.waiting_on().sdk else {
            continue;
        };
        let mut h = h;
        let out = h.ev(unreadable(kind, id));
        assert!(!is_stale(&out), "{state:?}: {out:?}");
        if state == StateId::Releasing {
            // Released either way: the SDK is going away.
            assert!(out.contains(&Command::Notify(Notice::Released)), "{out:?}");
            assert_eq!(h.state(), StateId::Released);
        } else {
            assert_eq!(
                diags(&out).first(),
                Some(&DiagnosticKind::UnreadableAnswer(kind)),
                "{state:?}"
            );
        }
        // The code scanner keeps its call open (it fires again); every other state
        // stops waiting for it.
        assert_eq!(
            h.s.waiting_on().contains(id),
            state == StateId::ScanningCode,
            "{state:?}"
        );
    }
}
