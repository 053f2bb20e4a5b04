use harness::*;
use std::time::Duration;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode: Mode = args[1].parse().unwrap();
    let workload: workloads::WorkloadKind = args[2].parse().unwrap();
    let threads: usize = args[3].parse().unwrap();
    let hz: u32 = args[4].parse().unwrap();
    let cpu: f64 = args[5].parse().unwrap();
    let lifetime: Option<f64> = args.get(6).map(|s| s.parse().unwrap());
    let spec = TrialSpec {
        mode,
        workload,
        threads,
        hz,
        cpu: Duration::from_secs_f64(cpu),
        params: workloads::WorkloadParams {
            lifetime_ms: lifetime,
            ..Default::default()
        },
        trial: 0,
        seed: 1,
    };
    let r = run_trial(&spec);
    println!("{} {} t={} hz={} status={:?} err={:?} cpu={:.3}s wall={:.3}s samples={} weighted={} overruns={} flushed={} rejected={} ratio={:?} nthreads={}",
        r.mode, r.workload, r.threads, r.hz, r.status, r.error, r.cpu_ns as f64/1e9, r.wall_ns as f64/1e9, r.samples, r.weighted_samples, r.overruns, r.flushed, r.rejected, r.ratio.map(|x| (x*1000.0).round()/1000.0), r.threads_detail.len());
    let sum: u64 = r.threads_detail.iter().filter_map(|t| t.cpu_ns).sum();
    let coord: u64 = r
        .threads_detail
        .iter()
        .filter(|t| t.kind == ThreadKind::Coordinator)
        .filter_map(|t| t.cpu_ns)
        .sum();
    println!(
        "   sum thread cpu {:.4}s, coordinator {:.4}s, uncovered {:.4}s",
        sum as f64 / 1e9,
        coord as f64 / 1e9,
        (r.cpu_ns as f64 - sum as f64) / 1e9
    );
    if r.threads_detail.len() < 10 {
        for t in &r.threads_detail {
            println!("   {:?}", t);
        }
    }
}
