//! Reading (and writing) pprof's `profile.proto`, the format Go's
//! `runtime/pprof`, pprof-rs and most CPU profilers write.
//!
//! The messages are written by hand from the public schema
//! (github.com/google/pprof, `proto/profile.proto`), keeping the field
//! numbers and only the fields profbench reads or a minimal profile needs,
//! so no `protoc` is needed and this works without the `pprof` feature.
//! Unknown fields (mappings, comments, …) are skipped by prost.
//!
//! [`read_profile`] takes a file's bytes, gzipped or not (the `1f 8b` magic
//! decides, not the name), checks what the schema requires (string 0 is
//! `""`, every sample has one value per sample type, every index is in
//! range), and [`ProfileSummary::of`] says how much CPU it claims.

use std::collections::BTreeSet;
use std::io::{Read, Write};

use thiserror::Error;

/// `perftools.profiles.Profile`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Profile {
    /// What each value of a sample measures.
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    /// The samples.
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    /// Code locations samples point to.
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    /// Functions locations point to.
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    /// Every string of the profile; entry 0 must be `""`.
    #[prost(string, repeated, tag = "6")]
    pub string_table: Vec<String>,
    /// When the profile started, ns since the Unix epoch.
    #[prost(int64, tag = "9")]
    pub time_nanos: i64,
    /// How long the profile ran, wall ns.
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    /// What one period of sampling measures (`cpu`/`nanoseconds` for a CPU profile).
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    /// The sampling period, in `period_type` units.
    #[prost(int64, tag = "12")]
    pub period: i64,
    /// Index into `string_table` of the sample type a viewer shows first.
    #[prost(int64, tag = "14")]
    pub default_sample_type: i64,
}

/// `perftools.profiles.ValueType`: a type and a unit, both string indices.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct ValueType {
    /// Index of the type (`samples`, `cpu`, …).
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    /// Index of the unit (`count`, `nanoseconds`, …).
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

/// `perftools.profiles.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The stack, leaf first.
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    /// One value per `Profile::sample_type`.
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    /// Labels (pprof-rs puts the thread name under `thread`).
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

/// `perftools.profiles.Label`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Label {
    /// Index of the key.
    #[prost(int64, tag = "1")]
    pub key: i64,
    /// Index of the string value, or 0.
    #[prost(int64, tag = "2")]
    pub str: i64,
    /// Numeric value, when `str` is 0.
    #[prost(int64, tag = "3")]
    pub num: i64,
}

/// `perftools.profiles.Location` (without its mapping details).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Location {
    /// Unique, non-zero.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// The instruction address, when known.
    #[prost(uint64, tag = "3")]
    pub address: u64,
    /// Inlined frames, innermost first.
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
}

/// `perftools.profiles.Line`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Line {
    /// The function's id.
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    /// Source line.
    #[prost(int64, tag = "2")]
    pub line: i64,
}

/// `perftools.profiles.Function`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Function {
    /// Unique, non-zero.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Index of the name.
    #[prost(int64, tag = "2")]
    pub name: i64,
    /// Index of the mangled name.
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    /// Index of the source file.
    #[prost(int64, tag = "4")]
    pub filename: i64,
}

/// Why a profile file could not be read.
#[derive(Debug, Error)]
pub enum ProfileError {
    /// Zero bytes.
    #[error("the profile is empty (0 bytes)")]
    Empty,
    /// Gzip magic, but the stream does not decompress.
    #[error("the profile is gzipped but does not decompress ({0}); truncated or corrupt")]
    Gzip(#[source] std::io::Error),
    /// Not a protobuf `Profile`.
    #[error("not a pprof profile ({0})")]
    Decode(#[from] prost::DecodeError),
    /// A protobuf, but not one the schema allows.
    #[error("not a valid pprof profile: {0}")]
    Invalid(String),
    /// A valid profile that cannot say how much CPU it holds.
    #[error("the profile has no CPU time in it: {0}")]
    NotCpu(String),
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Gzips `bytes` (for a `.gz` profile).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// Decodes a profile file's bytes, gzipped or not, and checks it against
/// the schema's rules.
pub fn read_profile(bytes: &[u8]) -> Result<Profile, ProfileError> {
    if bytes.is_empty() {
        return Err(ProfileError::Empty);
    }
    let raw;
    let proto: &[u8] = if bytes.starts_with(&GZIP_MAGIC) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(ProfileError::Gzip)?;
        if out.is_empty() {
            return Err(ProfileError::Empty);
        }
        raw = out;
        &raw
    } else {
        bytes
    };
    let profile = <Profile as prost::Message>::decode(proto)?;
    profile.validate()?;
    Ok(profile)
}

impl Profile {
    /// The profile as `profile.proto` bytes (not gzipped).
    pub fn to_bytes(&self) -> Vec<u8> {
        prost::Message::encode_to_vec(self)
    }

    /// The string at `index`, if it is one.
    pub fn string(&self, index: i64) -> Option<&str> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.string_table.get(i))
            .map(String::as_str)
    }

    fn value_type_name(&self, v: &ValueType) -> (String, String) {
        (
            self.string(v.r#type).unwrap_or_default().to_string(),
            self.string(v.unit).unwrap_or_default().to_string(),
        )
    }

    /// The schema's own rules, which random or truncated bytes that happen
    /// to parse as protobuf break at once.
    fn validate(&self) -> Result<(), ProfileError> {
        let invalid = |m: String| Err(ProfileError::Invalid(m));
        match self.string_table.first() {
            None => return invalid("no string table".into()),
            Some(s) if !s.is_empty() => {
                return invalid("string_table[0] is not the empty string".into())
            }
            Some(_) => {}
        }
        if self.sample_type.is_empty() {
            return invalid("no sample_type".into());
        }
        let strings = self.string_table.len() as i64;
        let in_table = |i: i64| (0..strings).contains(&i);
        let types = self.sample_type.iter().chain(self.period_type.as_ref());
        for v in types {
            if !in_table(v.r#type) || !in_table(v.unit) {
                return invalid("a value type names a string outside the table".into());
            }
        }
        if !in_table(self.default_sample_type) {
            return invalid("default_sample_type is outside the string table".into());
        }
        if self.period < 0 || self.duration_nanos < 0 {
            return invalid("negative period or duration".into());
        }
        let locations: BTreeSet<u64> = self.location.iter().map(|l| l.id).collect();
        for (i, s) in self.sample.iter().enumerate() {
            if s.value.len() != self.sample_type.len() {
                return invalid(format!(
                    "sample {i} has {} values for {} sample types",
                    s.value.len(),
                    self.sample_type.len()
                ));
            }
            if s.value.iter().any(|v| *v < 0) {
                return invalid(format!("sample {i} has a negative value"));
            }
            if let Some(id) = s.location_id.iter().find(|id| !locations.contains(id)) {
                return invalid(format!(
                    "sample {i} points to location {id}, which is not defined"
                ));
            }
            if s.label.iter().any(|l| !in_table(l.key) || !in_table(l.str)) {
                return invalid(format!("sample {i} has a label outside the string table"));
            }
        }
        for f in &self.function {
            if ![f.name, f.system_name, f.filename]
                .into_iter()
                .all(in_table)
            {
                return invalid(format!(
                    "function {} names a string outside the table",
                    f.id
                ));
            }
        }
        Ok(())
    }
}

/// How a profile's CPU time was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuSource {
    /// Summed from a `cpu`/`nanoseconds` sample type.
    CpuNanoseconds,
    /// Samples × period, the period in nanoseconds.
    SamplesTimesPeriod,
}

/// What a CPU profile claims.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileSummary {
    /// CPU the profile accounts for, ns.
    pub cpu_ns: u64,
    /// Samples: the `samples`/`count` column summed, or `cpu_ns / period`
    /// when the profile has no count column.
    pub samples: f64,
    /// The sampling period, ns.
    pub period_ns: u64,
    /// Wall time the profile says it ran (`duration_nanos`), if set.
    pub duration_ns: Option<u64>,
    /// Start time (`time_nanos`), ns since the epoch, if set.
    pub time_ns: Option<u64>,
    /// How `cpu_ns` was found.
    pub source: CpuSource,
    /// The sample types, as `type/unit`.
    pub sample_types: Vec<String>,
    /// Distinct values of the `thread` label (pprof-rs sets it; Go does not).
    pub threads_named: usize,
    /// Sample records (before summing their counts).
    pub records: usize,
}

impl ProfileSummary {
    /// Reads the CPU time out of a validated profile: the `cpu`/`nanoseconds`
    /// column when there is one, else `samples`/`count` × a period in
    /// nanoseconds. A profile with neither is [`ProfileError::NotCpu`].
    pub fn of(profile: &Profile) -> Result<ProfileSummary, ProfileError> {
        let types: Vec<(String, String)> = profile
            .sample_type
            .iter()
            .map(|v| profile.value_type_name(v))
            .collect();
        let column = |ty: &str, unit: &str| types.iter().position(|(t, u)| t == ty && u == unit);
        let sum = |i: usize| -> u64 {
            profile
                .sample
                .iter()
                .map(|s| s.value[i].max(0) as u64)
                .sum()
        };
        let period_ns = match profile
            .period_type
            .as_ref()
            .map(|v| profile.value_type_name(v))
        {
            Some((_, unit)) if unit == "nanoseconds" => profile.period.max(0) as u64,
            Some((ty, unit)) => {
                return Err(ProfileError::NotCpu(format!(
                    "its period is in {ty}/{unit}, not nanoseconds"
                )))
            }
            None => 0,
        };
        if period_ns == 0 {
            return Err(ProfileError::NotCpu(
                "it has no sampling period in nanoseconds (period_type/period)".into(),
            ));
        }
        let count = column("samples", "count").map(sum);
        let (cpu_ns, source) = match (column("cpu", "nanoseconds"), count) {
            (Some(i), _) => (sum(i), CpuSource::CpuNanoseconds),
            (None, Some(n)) => (n.saturating_mul(period_ns), CpuSource::SamplesTimesPeriod),
            (None, None) => {
                return Err(ProfileError::NotCpu(format!(
                    "sample types are {}; need cpu/nanoseconds or samples/count",
                    types
                        .iter()
                        .map(|(t, u)| format!("{t}/{u}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        };
        let thread_key = profile.string_table.iter().position(|s| s == "thread");
        let threads_named = thread_key.map_or(0, |key| {
            profile
                .sample
                .iter()
                .flat_map(|s| &s.label)
                .filter(|l| l.key == key as i64)
                .map(|l| (l.str, l.num))
                .collect::<BTreeSet<_>>()
                .len()
        });
        let positive = |v: i64| (v > 0).then_some(v as u64);
        Ok(ProfileSummary {
            cpu_ns,
            samples: count.map_or(cpu_ns as f64 / period_ns as f64, |n| n as f64),
            period_ns,
            duration_ns: positive(profile.duration_nanos),
            time_ns: positive(profile.time_nanos),
            source,
            sample_types: types.iter().map(|(t, u)| format!("{t}/{u}")).collect(),
            threads_named,
            records: profile.sample.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// A Go-shaped CPU profile: samples/count and cpu/nanoseconds, 100 Hz.
    fn go_like(samples: &[i64]) -> Profile {
        let strings = ["", "samples", "count", "cpu", "nanoseconds", "main.burn"];
        Profile {
            sample_type: vec![
                ValueType { r#type: 1, unit: 2 },
                ValueType { r#type: 3, unit: 4 },
            ],
            sample: samples
                .iter()
                .map(|&n| Sample {
                    location_id: vec![1],
                    value: vec![n, n * 10_000_000],
                    label: vec![],
                })
                .collect(),
            location: vec![Location {
                id: 1,
                address: 0,
                line: vec![Line {
                    function_id: 1,
                    line: 7,
                }],
            }],
            function: vec![Function {
                id: 1,
                name: 5,
                system_name: 5,
                filename: 0,
            }],
            string_table: strings.iter().map(|s| s.to_string()).collect(),
            time_nanos: 1,
            duration_nanos: 2_000_000_000,
            period_type: Some(ValueType { r#type: 3, unit: 4 }),
            period: 10_000_000,
            default_sample_type: 0,
        }
    }

    #[test]
    fn round_trips_plain_and_gzipped() {
        let p = go_like(&[3, 4]);
        let bytes = p.encode_to_vec();
        assert_eq!(read_profile(&bytes).unwrap(), p);
        assert_eq!(read_profile(&gzip(&bytes)).unwrap(), p);
        let s = ProfileSummary::of(&p).unwrap();
        assert_eq!(s.cpu_ns, 70_000_000);
        assert_eq!(s.samples, 7.0);
        assert_eq!(s.period_ns, 10_000_000);
        assert_eq!(s.source, CpuSource::CpuNanoseconds);
        assert_eq!(s.duration_ns, Some(2_000_000_000));
    }

    #[test]
    fn counts_times_period_without_a_cpu_column() {
        let mut p = go_like(&[5]);
        p.sample_type.truncate(1);
        for s in &mut p.sample {
            s.value.truncate(1);
        }
        let s = ProfileSummary::of(&p).unwrap();
        assert_eq!(s.cpu_ns, 50_000_000);
        assert_eq!(s.source, CpuSource::SamplesTimesPeriod);
    }

    #[test]
    fn refuses_what_is_not_a_cpu_profile() {
        assert!(matches!(read_profile(&[]), Err(ProfileError::Empty)));
        let gz = gzip(&go_like(&[1]).encode_to_vec());
        assert!(matches!(
            read_profile(&gz[..gz.len() / 2]),
            Err(ProfileError::Gzip(_))
        ));
        // Bytes that are no protobuf at all, or parse but break the schema.
        let noise: Vec<u8> = (0u32..512)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(read_profile(&noise).is_err());
        let mut bad = go_like(&[1]);
        bad.string_table[0] = "x".into();
        assert!(matches!(
            read_profile(&bad.encode_to_vec()),
            Err(ProfileError::Invalid(_))
        ));
        let mut bad = go_like(&[1]);
        bad.sample[0].value.pop();
        assert!(matches!(
            read_profile(&bad.encode_to_vec()),
            Err(ProfileError::Invalid(_))
        ));
        let mut heap = go_like(&[1]);
        heap.string_table[3] = "space".into();
        heap.string_table[4] = "bytes".into();
        heap.string_table[1] = "objects".into();
        assert!(matches!(
            ProfileSummary::of(&heap),
            Err(ProfileError::NotCpu(_))
        ));
    }
}
