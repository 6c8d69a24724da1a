//! Summaries of measured durations: min, median, p95, max and mean, in milliseconds.

use std::time::Duration;

use serde_json::{Value, json};

/// A summary of a set of samples, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// How many samples.
    pub count: usize,
    /// The smallest.
    pub min: f64,
    /// The middle one (mean of the two middle ones for an even count).
    pub median: f64,
    /// The 95th percentile (nearest rank).
    pub p95: f64,
    /// The 99th percentile (nearest rank).
    pub p99: f64,
    /// The largest.
    pub max: f64,
    /// The arithmetic mean.
    pub mean: f64,
}

impl Summary {
    /// Summarises `samples` (milliseconds); `None` when there are none.
    pub fn of_ms(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        // Nearest rank: the smallest sample with at least p % of samples at or below it.
        let rank = |p: usize| (n * p).div_ceil(100).max(1) - 1;
        Some(Summary {
            count: n,
            min: s[0],
            median,
            p95: s[rank(95)],
            p99: s[rank(99)],
            max: s[n - 1],
            mean: s.iter().sum::<f64>() / n as f64,
        })
    }

    /// Summarises durations.
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        let ms: Vec<f64> = samples.iter().map(|d| ms(*d)).collect();
        Self::of_ms(&ms)
    }

    /// `min/median/p95/max` for the summary text.
    pub fn line(&self) -> String {
        format!(
            "min {:.1} / median {:.1} / p95 {:.1} / max {:.1} ms (n={})",
            self.min, self.median, self.p95, self.max, self.count
        )
    }

    /// The summary as a JSON object.
    pub fn json(&self) -> Value {
        json!({
            "n": self.count,
            "min": round(self.min),
            "median": round(self.median),
            "p95": round(self.p95),
            "p99": round(self.p99),
            "max": round(self.max),
            "mean": round(self.mean),
        })
    }
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Rounds to two decimals for JSON output.
pub fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_odd_and_even_counts() {
        let s = Summary::of_ms(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!((s.min, s.median, s.p95, s.max), (1.0, 3.0, 5.0, 5.0));
        let s = Summary::of_ms(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert_eq!(s.mean, 2.5);
        assert!(Summary::of_ms(&[]).is_none());
    }

    #[test]
    fn p95_is_the_nearest_rank() {
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(Summary::of_ms(&samples).unwrap().p95, 19.0);
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(Summary::of_ms(&samples).unwrap().p95, 95.0);
        assert_eq!(Summary::of_ms(&samples).unwrap().p99, 99.0);
        let samples: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(Summary::of_ms(&samples).unwrap().p99, 990.0);
        assert_eq!(Summary::of_ms(&[7.0]).unwrap().p95, 7.0);
    }
}
