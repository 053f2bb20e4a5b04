//! The environment block: kernel, tick rate, CPUs, perf support.

use std::io::Read;
use std::time::Duration;

use crate::mode::{Mechanism, Mode};
use crate::record::Environment;
use crate::sampler::{perf_event_support, Session, SessionConfig};

/// Reads a kernel config option (`CONFIG_HZ=250`) from `/proc/config.gz`
/// or `/boot/config-<release>`.
fn kernel_config_value(release: &str, key: &str) -> Option<String> {
    let text = std::fs::File::open("/proc/config.gz")
        .ok()
        .and_then(|f| {
            let mut s = String::new();
            flate2::read::GzDecoder::new(f)
                .read_to_string(&mut s)
                .ok()?;
            Some(s)
        })
        .or_else(|| std::fs::read_to_string(format!("/boot/config-{release}")).ok())?;
    let prefix = format!("{key}=");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

/// Measures the rate at which the kernel checks CPU-clock timers: a thread
/// timer asked for 10 kHz fires at most once per tick, so its signals per
/// CPU second are the tick rate. `None` if a session is already running.
pub fn measure_timer_tick_hz(cpu: Duration) -> Option<f64> {
    let session = Session::start(SessionConfig {
        mode: Mode::plain(Mechanism::ThreadTimer),
        hz: 10_000,
        seed: 0,
    })
    .ok()?;
    let spec = workloads::WorkloadSpec::new(
        workloads::WorkloadKind::Parallel,
        1,
        cpu,
        Default::default(),
        0,
    )
    .ok()?;
    workloads::run(&spec, &session.spawner()).ok()?;
    let measured = session.finish().ok()?;
    let worker = measured
        .threads
        .iter()
        .find(|t| t.kind == crate::record::ThreadKind::Worker)?;
    let cpu_s = worker.cpu_ns? as f64 / 1e9;
    (cpu_s > 0.0).then(|| worker.samples as f64 / cpu_s)
}

/// Detects the environment. Takes about 0.3 s of CPU to measure the tick.
pub fn detect(label: Option<String>) -> Environment {
    let uts = nix::sys::utsname::uname().ok();
    let kernel = uts
        .as_ref()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_else(|| "unknown".into());
    let arch = uts
        .as_ref()
        .map(|u| u.machine().to_string_lossy().into_owned())
        .unwrap_or_else(|| std::env::consts::ARCH.into());
    let configured = kernel_config_value(&kernel, "CONFIG_HZ").and_then(|v| v.parse::<u32>().ok());
    let hz_measured = measure_timer_tick_hz(Duration::from_millis(300));
    let (hz, hz_source) = match (configured, hz_measured) {
        (Some(hz), _) => (hz, "config"),
        (None, Some(measured)) => (nearest_common_hz(measured), "measured"),
        // Neither: the most common distribution default; say so.
        (None, None) => (250, "assumed"),
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines().find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
    });
    let perf_event_paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let perf = perf_event_support();
    Environment {
        kernel,
        arch,
        hz,
        hz_source: hz_source.into(),
        hz_measured,
        cpus,
        cpu_model,
        perf_event_paranoid,
        perf_event_available: perf.is_ok(),
        perf_event_error: perf.err(),
        label,
    }
}

/// The usual CONFIG_HZ value closest to a measured rate (within 10 %), or
/// the measurement rounded.
fn nearest_common_hz(measured: f64) -> u32 {
    [100u32, 250, 300, 1000]
        .into_iter()
        .find(|&hz| (measured / f64::from(hz) - 1.0).abs() < 0.1)
        .unwrap_or(measured.round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_common_tick_rates() {
        assert_eq!(nearest_common_hz(247.3), 250);
        assert_eq!(nearest_common_hz(99.0), 100);
        assert_eq!(nearest_common_hz(1012.0), 1000);
        assert_eq!(nearest_common_hz(500.0), 500);
    }
}
