//! The live status page (`GET /`) rendered by a real browser: headless Chromium (Debian's
//! `chromium`, installed by `.ci/install-deps`) loads it from `floe serve` while clients
//! write and read, and the DOM it leaves must show every chart drawn from several samples
//! of `/stats`, with the figures the server holds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on an unexpected error"
)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::server::{Target, require_binary};
use redis::Commands;

/// The charts the page draws, by element id.
const CHARTS: [&str; 5] = ["ops", "hits", "memory", "keys", "p99"];

/// The `points` attribute of the polyline inside the figure `id`, as (x, y) pairs.
fn chart_points(dom: &str, id: &str) -> Vec<(f64, f64)> {
    let figure_start = dom
        .find(&format!("<figure id=\"{id}\""))
        .unwrap_or_else(|| panic!("no figure {id} in the page:\n{dom}"));
    let figure = &dom[figure_start..];
    let points_start = figure.find("points=\"").expect("a polyline") + "points=\"".len();
    let points = &figure[points_start..points_start + figure[points_start..].find('"').unwrap()];
    points
        .split_whitespace()
        .map(|pair| {
            let (x, y) = pair.split_once(',').expect("x,y");
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

/// The number shown in the caption of figure `id`.
fn caption(dom: &str, id: &str) -> String {
    let figure = &dom[dom.find(&format!("<figure id=\"{id}\"")).unwrap()..];
    let start = figure.find("<b>").unwrap() + 3;
    figure[start..start + figure[start..].find("</b>").unwrap()].to_owned()
}

#[test]
fn chromium_renders_live_charts_from_stats() {
    require_binary(
        "chromium",
        "the status page test loads the page in headless Chromium: run `.ci/install-deps` \
         (as root) to install Debian's chromium",
    );
    for target in [Target::Floe, Target::FloeEpoll] {
        let server = target.start_doors(&["--persistence", "off"]);
        let mut connection = redis::Client::open(server.url(""))
            .unwrap()
            .get_connection()
            .unwrap();
        for index in 0..100 {
            let () = connection.set(format!("key:{index}"), index).unwrap();
        }
        // Load while the page samples: reads that hit, so ops/s and the hit ratio move.
        let stop = Arc::new(AtomicBool::new(false));
        let load = {
            let stop = Arc::clone(&stop);
            let url = server.url("");
            thread::spawn(move || {
                let mut connection = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut index = 0_u32;
                while !stop.load(Ordering::Relaxed) {
                    let _: Option<String> = connection.get(format!("key:{}", index % 100)).unwrap();
                    index += 1;
                }
            })
        };
        let output = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                // Timers run on virtual time: several one-second samples in a moment.
                "--virtual-time-budget=8000",
                "--dump-dom",
            ])
            .arg(format!("http://127.0.0.1:{}/", server.http_port))
            .output()
            .expect("run chromium");
        stop.store(true, Ordering::Relaxed);
        load.join().unwrap();
        let dom = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && dom.contains("<figure"),
            "chromium failed ({}):\n{}\n{dom}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let samples: usize = dom
            .split("data-samples=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|count| count.parse().ok())
            .expect("body[data-samples]");
        assert!(samples >= 3, "{samples} samples drawn:\n{dom}");
        for id in CHARTS {
            let points = chart_points(&dom, id);
            assert!(
                points.len() >= 3,
                "chart {id} has {} points:\n{dom}",
                points.len()
            );
            assert!(
                points
                    .iter()
                    .all(|&(x, y)| (0.0..=300.0).contains(&x) && (0.0..=70.0).contains(&y)),
                "chart {id} leaves its box: {points:?}"
            );
        }
        // The figures are the server's: 100 keys, reads that all hit, memory in use.
        assert_eq!(caption(&dom, "keys"), "100", "{dom}");
        assert!(caption(&dom, "memory").ends_with("iB"), "{dom}");
        let operations = chart_points(&dom, "ops");
        assert!(
            operations.iter().any(|&(_, y)| y < 68.0),
            "ops/s stayed at zero under load: {operations:?}"
        );
        assert_eq!(caption(&dom, "hits"), "100.0 %", "{dom}");
        // "< 32": a bucket's bound, escaped in the serialized DOM.
        assert!(caption(&dom, "p99").starts_with("&lt; "), "{dom}");
    }
}
