//! The simulated seed apps (issue 13): each drives terminals through the `wxFacePay`
//! facade under swarm faults and power losses, and the checker — reading the app's view —
//! finds nothing. The long run is `facepay-sim run --app NAME --swarm --power-loss
//! --sessions 200000` (see facade/README.md).

use facepay_sim::apps::AppKind;
use facepay_sim::campaign::{CampaignConfig, Shard, run_campaign_as};
use facepay_sim::terminal::StrategyKind;

fn campaign(app: AppKind, sessions: u64) -> facepay_sim::campaign::Summary {
    let cfg = CampaignConfig {
        seed: 13,
        sessions,
        swarm: true,
        power_loss: true,
        shard: Shard::parse("0/1").unwrap(),
        jobs: 2,
    };
    run_campaign_as(&cfg, StrategyKind::App(app), |_| {})
}

#[test]
fn every_seed_app_keeps_the_apps_view_true_under_faults_and_power_loss() {
    for app in AppKind::ALL {
        let s = campaign(app, 1_500);
        let first = s
            .failures
            .first()
            .map(|f| format!("session {}: {:?}", f.session, f.violations));
        assert_eq!(s.violations, 0, "{}: {first:?}", app.name());
        // The apps really pay: orders concluded, some paid, some not.
        assert!(s.outcomes.paid > 100, "{}: {:?}", app.name(), s.outcomes);
        assert!(
            s.outcomes.not_paid + s.outcomes.reversed > 10,
            "{}: {:?}",
            app.name(),
            s.outcomes
        );
    }
}

#[test]
fn app_names_round_trip() {
    for app in AppKind::ALL {
        assert_eq!(AppKind::from_name(app.name()), Some(app));
        assert_eq!(AppKind::from_name(app.name().trim_start_matches("app-")), Some(app));
    }
    assert_eq!(AppKind::from_name("nope"), None);
}
