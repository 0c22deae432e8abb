//! Probability distributions of durations and sizes, configured by their mean (users think in
//! means), sampled through rand_distr with all set-up done once at construction.

use rand::Rng;
use rand::distr::Distribution;
use rand_distr::{Exp1, Gamma, LogNormal, Pareto};

/// Why a distribution's parameters are impossible.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DistError {
    /// A parameter must be finite and at least zero (or strictly positive).
    #[error("{param} must be {allowed}, got {value}")]
    Invalid {
        /// The parameter's name.
        param: &'static str,
        /// What values are allowed.
        allowed: &'static str,
        /// The value given.
        value: f64,
    },
    /// An empirical distribution needs at least one value.
    #[error("values must hold at least one number")]
    Empty,
}

/// A non-negative random variable, described by its mean and shape. Every variant's `mean()` is
/// exact; sampling never allocates.
#[derive(Debug, Clone)]
pub enum Dist {
    /// Always the same value.
    Const(f64),
    /// Exponential with the given mean (coefficient of variation 1).
    Exp {
        /// Mean value.
        mean: f64,
    },
    /// Uniform on [min, max].
    Uniform {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// Log-normal with the given mean and coefficient of variation (standard deviation / mean).
    LogNormal {
        /// Mean value.
        mean: f64,
        /// Coefficient of variation.
        cv: f64,
        /// Prepared sampler.
        sampler: LogNormal<f64>,
    },
    /// Erlang-k (sum of k exponentials) with the given mean; cv = 1/sqrt(k).
    Erlang {
        /// Mean value.
        mean: f64,
        /// Number of phases.
        k: u32,
        /// Prepared sampler.
        sampler: Gamma<f64>,
    },
    /// Pareto (power-law tail) with the given mean and tail index alpha > 1.
    Pareto {
        /// Mean value.
        mean: f64,
        /// Tail index.
        alpha: f64,
        /// Prepared sampler.
        sampler: Pareto<f64>,
    },
    /// Each listed value equally likely (e.g. measured service times; shared, not copied, when
    /// a scenario is cloned).
    Empirical {
        /// The values.
        values: std::sync::Arc<[f64]>,
    },
}

fn check(param: &'static str, value: f64, positive: bool) -> Result<f64, DistError> {
    let ok = value.is_finite() && if positive { value > 0.0 } else { value >= 0.0 };
    if ok {
        Ok(value)
    } else {
        let allowed = if positive { "a finite number > 0" } else { "a finite number >= 0" };
        Err(DistError::Invalid { param, allowed, value })
    }
}

impl Dist {
    /// A constant.
    pub fn constant(value: f64) -> Result<Self, DistError> {
        Ok(Dist::Const(check("value", value, false)?))
    }

    /// Exponential with mean `mean` (a mean of zero gives the constant zero).
    pub fn exp(mean: f64) -> Result<Self, DistError> {
        let mean = check("mean", mean, false)?;
        Ok(if mean == 0.0 { Dist::Const(0.0) } else { Dist::Exp { mean } })
    }

    /// Uniform on [min, max].
    pub fn uniform(min: f64, max: f64) -> Result<Self, DistError> {
        let min = check("min", min, false)?;
        let max = check("max", max, false)?;
        if max < min {
            return Err(DistError::Invalid { param: "max", allowed: "a number >= min", value: max });
        }
        Ok(Dist::Uniform { min, max })
    }

    /// Log-normal with mean `mean` and coefficient of variation `cv`:
    /// sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2.
    pub fn lognormal(mean: f64, cv: f64) -> Result<Self, DistError> {
        let mean = check("mean", mean, true)?;
        let cv = check("cv", cv, true)?;
        let sigma2 = (1.0 + cv * cv).ln();
        let mu = mean.ln() - sigma2 / 2.0;
        let sampler = LogNormal::new(mu, sigma2.sqrt()).map_err(|_| DistError::Invalid {
            param: "cv",
            allowed: "a finite number > 0",
            value: cv,
        })?;
        Ok(Dist::LogNormal { mean, cv, sampler })
    }

    /// Erlang with `k` phases and mean `mean` (gamma with shape k and scale mean/k).
    pub fn erlang(mean: f64, k: u32) -> Result<Self, DistError> {
        let mean = check("mean", mean, true)?;
        if k == 0 {
            return Err(DistError::Invalid { param: "k", allowed: "a whole number >= 1", value: 0.0 });
        }
        let sampler = Gamma::new(f64::from(k), mean / f64::from(k)).map_err(|_| DistError::Invalid {
            param: "mean",
            allowed: "a finite number > 0",
            value: mean,
        })?;
        Ok(Dist::Erlang { mean, k, sampler })
    }

    /// Pareto with mean `mean` and tail index `alpha` > 1 (scale x_m = mean (alpha - 1) / alpha).
    pub fn pareto(mean: f64, alpha: f64) -> Result<Self, DistError> {
        let mean = check("mean", mean, true)?;
        if !(alpha.is_finite() && alpha > 1.0) {
            return Err(DistError::Invalid {
                param: "alpha",
                allowed: "a finite number > 1 (the mean is infinite otherwise)",
                value: alpha,
            });
        }
        let scale = mean * (alpha - 1.0) / alpha;
        let sampler = Pareto::new(scale, alpha).map_err(|_| DistError::Invalid {
            param: "mean",
            allowed: "a finite number > 0",
            value: mean,
        })?;
        Ok(Dist::Pareto { mean, alpha, sampler })
    }

    /// Each of `values` equally likely.
    pub fn empirical(values: &[f64]) -> Result<Self, DistError> {
        if values.is_empty() {
            return Err(DistError::Empty);
        }
        for &v in values {
            check("values[..]", v, false)?;
        }
        Ok(Dist::Empirical { values: values.into() })
    }

    /// The exact mean.
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Const(v) => *v,
            Dist::Exp { mean }
            | Dist::LogNormal { mean, .. }
            | Dist::Erlang { mean, .. }
            | Dist::Pareto { mean, .. } => *mean,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Empirical { values } => values.iter().sum::<f64>() / values.len() as f64,
        }
    }

    /// The exact second moment E[X^2] (infinite for a Pareto with alpha <= 2).
    pub fn second_moment(&self) -> f64 {
        match self {
            Dist::Const(v) => v * v,
            Dist::Exp { mean } => 2.0 * mean * mean,
            Dist::Uniform { min, max } => (min * min + min * max + max * max) / 3.0,
            Dist::LogNormal { mean, cv, .. } => mean * mean * (1.0 + cv * cv),
            Dist::Erlang { mean, k, .. } => mean * mean * (1.0 + 1.0 / f64::from(*k)),
            Dist::Pareto { mean, alpha, .. } => {
                if *alpha <= 2.0 {
                    f64::INFINITY
                } else {
                    let xm = mean * (alpha - 1.0) / alpha;
                    alpha * xm * xm / (alpha - 2.0)
                }
            }
            Dist::Empirical { values } => values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64,
        }
    }

    /// The same shape with a different mean (a live control turning a knob): exponential stays
    /// exponential, a log-normal keeps its cv, an Erlang its k, a Pareto its alpha; uniform and
    /// empirical values are scaled. A zero mean gives the constant zero.
    pub fn with_mean(&self, mean: f64) -> Result<Self, DistError> {
        let mean = check("mean", mean, false)?;
        if mean == 0.0 {
            return Ok(Dist::Const(0.0));
        }
        let old = self.mean();
        match self {
            Dist::Const(_) => Dist::constant(mean),
            Dist::Exp { .. } => Dist::exp(mean),
            Dist::LogNormal { cv, .. } => Dist::lognormal(mean, *cv),
            Dist::Erlang { k, .. } => Dist::erlang(mean, *k),
            Dist::Pareto { alpha, .. } => Dist::pareto(mean, *alpha),
            Dist::Uniform { min, max } if old > 0.0 => Dist::uniform(min * mean / old, max * mean / old),
            Dist::Empirical { values } if old > 0.0 => {
                Dist::empirical(&values.iter().map(|v| v * mean / old).collect::<Vec<_>>())
            }
            // A shape whose mean is zero cannot be scaled: use a constant.
            Dist::Uniform { .. } | Dist::Empirical { .. } => Dist::constant(mean),
        }
    }

    /// True when the value is always zero (lets callers skip work).
    pub fn is_zero(&self) -> bool {
        matches!(self, Dist::Const(v) if *v == 0.0)
    }

    /// Draw one value.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Dist::Const(v) => *v,
            Dist::Exp { mean } => {
                let e: f64 = Exp1.sample(rng);
                e * mean
            }
            Dist::Uniform { min, max } => min + (max - min) * unit(rng),
            Dist::LogNormal { sampler, .. } => sampler.sample(rng),
            Dist::Erlang { sampler, .. } => sampler.sample(rng),
            Dist::Pareto { sampler, .. } => sampler.sample(rng),
            Dist::Empirical { values } => values[index_below(rng, values.len())],
        }
    }
}

/// An exponential number with mean 1 (ziggurat: usually one random draw and no logarithm).
#[inline]
pub fn exp1<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    Exp1.sample(rng)
}

/// A uniform number in [0, 1) with 53 random bits.
#[inline]
pub fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform index in 0..n (n > 0), by Lemire's multiply-shift (bias below 2^-32 for n < 2^32).
#[inline]
pub fn index_below<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    /// Sample mean and variance of n draws.
    fn moments(d: &Dist, n: usize) -> (f64, f64) {
        let mut r = stream(42, 0, 1);
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut r)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
        (m, v)
    }

    /// Each distribution's sample mean is within 5 standard errors of the configured mean, and
    /// the sample second moment agrees with the closed form (sd/sqrt(n) argument, n = 200k).
    #[test]
    fn sample_means_match_configured_means() {
        let cases = [
            Dist::constant(3.0).unwrap(),
            Dist::exp(5.0).unwrap(),
            Dist::uniform(2.0, 8.0).unwrap(),
            Dist::lognormal(10.0, 0.5).unwrap(),
            Dist::erlang(4.0, 3).unwrap(),
            Dist::pareto(6.0, 3.5).unwrap(),
            Dist::empirical(&[1.0, 2.0, 9.0]).unwrap(),
        ];
        let n = 200_000;
        for d in &cases {
            let (m, v) = moments(d, n);
            let theory_var = d.second_moment() - d.mean() * d.mean();
            let se = (theory_var / n as f64).sqrt();
            assert!((m - d.mean()).abs() <= 5.0 * se + 1e-12, "{d:?}: mean {m} vs {}", d.mean());
            if !matches!(d, Dist::Pareto { .. }) {
                // Pareto(3.5) has a finite but heavy fourth moment: skip its variance check.
                assert!((v - theory_var).abs() <= 0.05 * theory_var + 1e-12, "{d:?}: var {v} vs {theory_var}");
            }
        }
    }

    #[test]
    fn with_mean_keeps_the_shape() {
        let d = Dist::lognormal(10.0, 0.5).unwrap().with_mean(20.0).unwrap();
        assert!(matches!(d, Dist::LogNormal { mean, cv, .. } if mean == 20.0 && cv == 0.5));
        let u = Dist::uniform(2.0, 6.0).unwrap().with_mean(8.0).unwrap();
        assert!(matches!(u, Dist::Uniform { min, max } if min == 4.0 && max == 12.0));
        assert!(Dist::exp(1.0).unwrap().with_mean(0.0).unwrap().is_zero());
        assert!(Dist::exp(1.0).unwrap().with_mean(-1.0).is_err());
    }

    #[test]
    fn impossible_parameters_are_rejected() {
        assert!(Dist::exp(-1.0).is_err());
        assert!(Dist::uniform(5.0, 1.0).is_err());
        assert!(Dist::lognormal(1.0, 0.0).is_err());
        assert!(Dist::erlang(1.0, 0).is_err());
        assert!(Dist::pareto(1.0, 1.0).is_err());
        assert!(Dist::empirical(&[]).is_err());
        assert!(Dist::constant(f64::NAN).is_err());
    }
}
