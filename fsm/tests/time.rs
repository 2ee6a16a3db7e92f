//! The host's clock as the machine reads it: milliseconds since the host's epoch, spans
//! that never go negative, the text logs show, and deadlines at the end of time.

mod common;

use common::*;
use facepay_fsm::*;

#[test]
fn instants_count_milliseconds_and_spans_never_go_negative() {
    let (early, late) = (Instant(1_250), Instant(4_000));
    assert_eq!(late.as_millis(), 4_000);
    assert_eq!(late.since(early), 2_750);
    assert_eq!(late - early, 2_750);
    assert_eq!(early.since(late), 0, "a clock that went back reads as no time");
    assert_eq!(early - late, 0);
    assert_eq!(early + Duration::ms(750), Instant(2_000));
    assert_eq!(
        Instant(u64::MAX - 1) + Duration::secs(5),
        Instant(u64::MAX),
        "saturates"
    );
    assert_eq!(Duration::secs(3).as_millis(), 3_000);
    assert_eq!(Duration::secs(u32::MAX), Duration(u32::MAX), "saturates");
    assert_eq!(Duration::ms(42).as_millis(), 42);
}

#[test]
fn instants_and_durations_print_for_logs() {
    assert_eq!(Instant(61_005).to_string(), "61.005s");
    assert_eq!(Instant(7).to_string(), "0.007s");
    assert_eq!(Duration::ms(250).to_string(), "250ms");
}

/// A call made when the clock is near its end still has a deadline: it saturates one
/// millisecond short of the end (the end marks an unarmed timer), and fires.
#[test]
fn a_deadline_at_the_end_of_time_is_still_armed() {
    let mut h = H::new(Policy::default());
    h.at(u64::MAX - 5);
    h.start();
    assert_eq!(h.s.poll_timeout(), Some(Instant(u64::MAX - 1)));
    let (timer, _) = h.fire_next_by(u64::MAX).expect("the init call's deadline");
    assert_eq!(timer, Timer::SdkDeadline);
}
