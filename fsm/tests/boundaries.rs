//! The boundary checks cargo-mutants found untested (issue 17): the journal record's
//! checks and byte decoding, `InitParams` validation of every field, the v2 API paths,
//! and the `Debug` form of a session. Public API only.

mod common;

use common::*;
use facepay_fsm::*;

// ── Journal ──────────────────────────────────────────────────────────────────────────────

fn record() -> JournalRecord {
    JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: ok(Text::new(Field::OutTradeNo, "20261127-0001")),
        api: PayApi::Facepay,
        total_fee: 12_345,
        phase: JournalPhase::Querying,
        elapsed_ms: 7_000,
        queries: 1,
        reverse_attempts: 0,
    }
}

/// The CRC-32 (ISO-HDLC) of the first 60 bytes, stored little-endian in the last four
/// (docs/journal-format.md): lets a test write a record with a damaged field but a valid
/// checksum, so that the field check itself is what rejects it.
fn reseal(b: &mut [u8; JOURNAL_BYTES]) {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&b[..JOURNAL_BYTES - 4]);
    b[JOURNAL_BYTES - 4..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn is_salvaged_means_the_amount_is_unknown() {
    assert!(!record().is_salvaged());
    assert!(
        !JournalRecord {
            total_fee: 1,
            ..record()
        }
        .is_salvaged()
    );
    assert!(
        JournalRecord {
            total_fee: 0,
            ..record()
        }
        .is_salvaged()
    );
    let salvaged = JournalRecord::salvaged(record().out_trade_no, PayApi::Micropay);
    assert!(salvaged.is_salvaged());
    assert_eq!(salvaged.phase, JournalPhase::Querying);
}

#[test]
fn check_takes_this_version_and_older_and_refuses_newer_or_an_empty_order() {
    assert_eq!(record().check(), Ok(()));
    assert_eq!(JournalRecord { version: 0, ..record() }.check(), Ok(()));
    let next = JOURNAL_VERSION + 1;
    assert_eq!(
        JournalRecord {
            version: next,
            ..record()
        }
        .check(),
        Err(JournalError::FutureVersion(next))
    );
    assert_eq!(
        JournalRecord {
            out_trade_no: OutTradeNo::empty(),
            ..record()
        }
        .check(),
        Err(JournalError::Malformed(Field::OutTradeNo))
    );
}

#[test]
fn every_concluded_outcome_round_trips_through_the_binary_form() {
    for (outcome, byte) in [
        (Outcome::Paid, 0u8),
        (Outcome::NotPaid, 1),
        (Outcome::Reversed, 2),
        (Outcome::NeedsReconciliation, 3),
    ] {
        let r = JournalRecord {
            phase: JournalPhase::Concluded(outcome),
            ..record()
        };
        let b = r.encode();
        assert_eq!((b[5], b[6]), (3, byte), "{outcome:?}: phase and outcome bytes");
        assert_eq!(JournalRecord::decode(&b), Ok(r));
    }
    for (phase, byte) in [
        (JournalPhase::Submitting, 0u8),
        (JournalPhase::Querying, 1),
        (JournalPhase::Reversing, 2),
    ] {
        let r = JournalRecord { phase, ..record() };
        let b = r.encode();
        assert_eq!((b[5], b[6]), (byte, 0xFF), "{phase:?}");
        assert_eq!(JournalRecord::decode(&b), Ok(r));
    }
}

#[test]
fn an_unknown_outcome_phase_or_api_byte_is_malformed() {
    let concluded = JournalRecord {
        phase: JournalPhase::Concluded(Outcome::Paid),
        ..record()
    };
    let mut b = concluded.encode();
    b[6] = 4;
    reseal(&mut b);
    assert_eq!(
        JournalRecord::decode(&b),
        Err(JournalError::Malformed(Field::TradeState))
    );
    let mut b = record().encode();
    b[5] = 4;
    reseal(&mut b);
    assert_eq!(
        JournalRecord::decode(&b),
        Err(JournalError::Malformed(Field::TradeState))
    );
    let mut b = record().encode();
    b[7] = 2;
    reseal(&mut b);
    assert_eq!(
        JournalRecord::decode(&b),
        Err(JournalError::Malformed(Field::FaceCodeType))
    );
}

#[test]
fn an_out_trade_no_outside_the_v2_alphabet_or_empty_is_malformed() {
    let malformed = Err(JournalError::Malformed(Field::OutTradeNo));
    // A byte outside ASCII letters, digits and `_-|*`, with a valid checksum.
    for bad in [b' ', b'.', 0u8, 0xE4] {
        let mut b = record().encode();
        b[19 + 3] = bad;
        reseal(&mut b);
        assert_eq!(JournalRecord::decode(&b), malformed, "byte {bad:#x}");
        assert_eq!(JournalRecord::salvage(&b), None, "salvage of byte {bad:#x}");
    }
    // Every allowed punctuation mark is taken.
    let no = "a_b-c|d*9";
    let r = JournalRecord {
        out_trade_no: ok(Text::new(Field::OutTradeNo, no)),
        ..record()
    };
    assert_eq!(JournalRecord::decode(&r.encode()), Ok(r.clone()));
    assert_eq!(
        JournalRecord::salvage(&r.encode()).map(|(o, _)| o),
        Some(r.out_trade_no)
    );
    // Length 0, and a length running past the field.
    for len in [0u8, 33, 200] {
        let mut b = record().encode();
        b[18] = len;
        reseal(&mut b);
        assert_eq!(JournalRecord::decode(&b), malformed, "length {len}");
        assert_eq!(JournalRecord::salvage(&b), None, "salvage of length {len}");
    }
}

#[test]
fn salvage_reads_the_api_and_needs_the_magic() {
    let b = JournalRecord {
        api: PayApi::Micropay,
        ..record()
    }
    .encode();
    assert_eq!(JournalRecord::salvage(&b).map(|(_, api)| api), Some(PayApi::Micropay));
    let b = record().encode();
    assert_eq!(JournalRecord::salvage(&b).map(|(_, api)| api), Some(PayApi::Facepay));
    let mut damaged = b;
    damaged[0] = b'X';
    assert_eq!(JournalRecord::salvage(&damaged), None);
    assert_eq!(JournalRecord::salvage(&b[..50]), None, "cut inside the out_trade_no");
}

// ── InitParams ───────────────────────────────────────────────────────────────────────────

fn init(port: &str, tcp_port: &str) -> InitParams {
    InitParams {
        port: ok(Text::new(Field::Port, port)),
        tcp_port: ok(Text::new(Field::TcpPort, tcp_port)),
        ..InitParams::default()
    }
}

#[test]
fn ports_are_1_to_65535_in_decimal_digits() {
    for good in ["1", "80", "8080", "65535", "00080"] {
        assert_eq!(init(good, "").validate(), Ok(()), "port {good}");
        assert_eq!(init("", good).validate(), Ok(()), "tcp_port {good}");
    }
    for bad in ["0", "00000", "65536", "99999", "8a", "+80", "-1", " 80", "1e3"] {
        assert_eq!(
            init(bad, "").validate(),
            Err(FieldError::Malformed { field: Field::Port }),
            "port {bad:?}"
        );
        assert_eq!(
            init("", bad).validate(),
            Err(FieldError::Malformed { field: Field::TcpPort }),
            "tcp_port {bad:?}"
        );
    }
    // Both absent is the default: no proxy.
    assert_eq!(InitParams::default().validate(), Ok(()));
}

#[test]
fn a_proxy_needs_an_ip_and_a_port() {
    for t in [ProxyType::HttpTunnel, ProxyType::Socks5, ProxyType::Http] {
        let with = |ip: &str, port: &str| InitParams {
            ip: ok(Text::new(Field::Ip, ip)),
            port: ok(Text::new(Field::Port, port)),
            proxy_type: Some(t),
            ..InitParams::default()
        };
        assert_eq!(with("10.0.0.1", "3128").validate(), Ok(()), "{t:?}");
        assert_eq!(
            with("", "3128").validate(),
            Err(FieldError::Empty { field: Field::Ip }),
            "{t:?}"
        );
        assert_eq!(
            with("10.0.0.1", "").validate(),
            Err(FieldError::Empty { field: Field::Port }),
            "{t:?}"
        );
        assert_eq!(
            with("10.0.0.1", "0").validate(),
            Err(FieldError::Malformed { field: Field::Port }),
            "{t:?}"
        );
    }
    // proxy_type 0 (none), or absent, needs neither.
    for t in [None, Some(ProxyType::None)] {
        let p = InitParams {
            proxy_type: t,
            ..InitParams::default()
        };
        assert_eq!(p.validate(), Ok(()), "{t:?}");
    }
}

#[test]
fn start_with_invalid_init_params_is_refused_naming_the_field() {
    let mut h = H::new(Policy::default());
    let out = h.app(AppEvent::Start {
        init: init("70000", ""),
        merchant: merchant(),
    });
    assert_eq!(
        diags(&out),
        vec![DiagnosticKind::InvalidRequest(FieldError::Malformed {
            field: Field::Port
        })]
    );
    assert_eq!(h.state(), StateId::Uninitialized);
}

// ── PayApi ───────────────────────────────────────────────────────────────────────────────

/// The v2 paths under https://api.mch.weixin.qq.com (pay.weixin.qq.com/wiki/doc/api/micropay.php
/// and the face-pay documents): micropay/orderquery/reverse, facepay/facepayquery/facepayreverse.
#[test]
fn each_api_family_has_its_v2_paths() {
    assert_eq!(PayApi::Micropay.submit_path(), "/pay/micropay");
    assert_eq!(PayApi::Micropay.query_path(), "/pay/orderquery");
    assert_eq!(PayApi::Micropay.reverse_path(), "/secapi/pay/reverse");
    assert_eq!(PayApi::Facepay.submit_path(), "/pay/facepay");
    assert_eq!(PayApi::Facepay.query_path(), "/pay/facepayquery");
    assert_eq!(PayApi::Facepay.reverse_path(), "/secapi/pay/facepayreverse");
}

// ── Session's Debug ──────────────────────────────────────────────────────────────────────

#[test]
fn a_sessions_debug_form_shows_state_time_next_timer_and_queue() {
    let mut s = Session::new(Policy::default());
    s.handle(
        Instant(250),
        &Event::App(AppEvent::Start {
            init: InitParams::default(),
            merchant: merchant(),
        }),
    )
    .unwrap();
    // Before draining: one command (initWxpayface) queued, its deadline armed.
    let shown = format!("{s:?}");
    assert_eq!(
        shown,
        format!(
            "Session {{ state: Initializing, now: {:?}, next_timer: {:?}, queued: 1, .. }}",
            Instant(250),
            Some((Timer::SdkDeadline, Instant(12_250)))
        )
    );
    while s.poll_command().is_some() {}
    assert!(format!("{s:?}").contains("queued: 0"), "{s:?}");
    let fresh = format!("{:?}", Session::new(Policy::default()));
    assert!(fresh.starts_with("Session { state: Uninitialized,"), "{fresh}");
    assert!(fresh.contains("next_timer: None"), "{fresh}");
}

// ── Membership lookups ───────────────────────────────────────────────────────────────────

#[test]
fn a_lookup_takes_only_the_membership_auth_types() {
    let with = member_lookup;
    for t in [FaceAuthType::FaceidOnce, FaceAuthType::FaceidLoop] {
        assert_eq!(with(t).validate(), Ok(()), "{t:?}");
    }
    for t in [
        FaceAuthType::Facepay,
        FaceAuthType::FacepayDelay,
        FaceAuthType::FaceAuth,
    ] {
        assert_eq!(
            with(t).validate(),
            Err(FieldError::Malformed {
                field: Field::FaceAuthtype
            }),
            "{t:?}"
        );
    }
    // Through the session: refused in Idle, nothing started.
    let mut h = H::idle();
    let out = h.app(AppEvent::IdentifyUser(with(FaceAuthType::Facepay)));
    assert_eq!(
        diags(&out),
        vec![DiagnosticKind::InvalidRequest(FieldError::Malformed {
            field: Field::FaceAuthtype
        })]
    );
    assert_eq!(h.state(), StateId::Idle);
}

// ── Policy conversions (the serde form goes through them) ────────────────────────────────

#[test]
fn a_policy_converts_from_and_to_its_settings_with_the_same_checks() {
    let s = PolicySettings {
        poll_interval: Duration::secs(7),
        ..PolicySettings::default()
    };
    let p = Policy::try_from(s).expect("valid");
    assert_eq!(p, Policy::new(s).unwrap());
    assert_eq!(p.settings(), &s);
    assert_eq!(PolicySettings::from(p), s);
    assert_ne!(PolicySettings::from(p), PolicySettings::default());
    let bad = PolicySettings {
        reverse_not_before: Duration::secs(14),
        ..PolicySettings::default()
    };
    assert_eq!(Policy::try_from(bad), Err(PolicyError::ReverseTooEarly));
}

/// A versionName's numbers have at most three digits each (so at most 255 after the
/// parse): three digits read, a fourth is refused even when it is a leading zero.
#[test]
fn a_version_number_has_at_most_three_digits() {
    let v = |major, minor| Ok(SdkVersion { major, minor });
    assert_eq!(SdkVersion::parse("2.100"), v(2, 100));
    assert_eq!(SdkVersion::parse("002.013.1"), v(2, 13));
    let bad = Err(FieldError::Malformed {
        field: Field::VersionName,
    });
    for name in ["2.0013", "0002.13", "2.1000"] {
        assert_eq!(SdkVersion::parse(name), bad, "{name:?}");
    }
}
