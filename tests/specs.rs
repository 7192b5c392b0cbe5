//! Invalid property specs are rejected with the file, the key and the line named; the grid values,
//! parameter checks and claim contract that specs are validated against (framework/property.rs).

use dlncheck::framework::spec::Spec;

const GOOD: &str = "id: mc.thm1.lower_bound
title: t
source:
  paper: p
  label: l
  provenance: paper
statement: s
kind: bound
seed: 1
repetitions: 1
grid:
  architecture: [mlp]
  d: [2]
  depth: [2]
  kappa: [1]
  direction: [random]
  w_star_norm: [1]
  head_norm: [1]
  minimizer: [balanced]
tolerances:
  rel: 1.0e-10
controls:
  - variant: lambda_max
    description: d
hypotheses: [h]
provenance_note: n
";

fn check(text: &str) -> Result<(), dlncheck::framework::spec::SpecError> {
    let spec = Spec::parse(text, "x.yaml")?;
    let claim = dlncheck::claims::find(&spec.id).expect("registered");
    spec.validate(claim, text, "x.yaml")
}

#[test]
fn the_reference_spec_is_valid() {
    check(GOOD).unwrap();
}

#[test]
fn bad_specs_name_file_key_and_line() {
    let cases: Vec<(String, &str, usize)> = vec![
        (GOOD.replace("  d: [2]\n", "  d: [2]\n  width: [3]\n"), "grid.width", 14),
        (GOOD.replace("  d: [2]\n", "  d: []\n"), "grid.d", 13),
        (GOOD.replace("  d: [2]\n", "  d: [two]\n"), "grid.d", 13),
        (GOOD.replace("  d: [2]\n", "  d: [0]\n"), "grid.d", 13),
        (GOOD.replace("  kappa: [1]\n", "  kappa: [-1]\n"), "grid.kappa", 15),
        (GOOD.replace("  head_norm: [1]\n", "  head_norm: [-1]\n"), "grid.head_norm", 18),
        (GOOD.replace("  head_norm: [1]\n", "  head_norm: [0]\n"), "grid.head_norm", 18),
        (GOOD.replace("  head_norm: [1]\n", "  head_norm: [.nan]\n"), "grid.head_norm", 18),
        (GOOD.replace("  head_norm: [1]\n", "  head_norm: [.inf]\n"), "grid.head_norm", 18),
        (GOOD.replace("  head_norm: [1]\n", "  head_norm: [1.0e300]\n"), "grid.head_norm", 18),
        (GOOD.replace("  head_norm: [1]\n", "  head_norm: [p]\n"), "grid.head_norm", 18),
        (GOOD.replace("  architecture: [mlp]\n", "  architecture: [cnn]\n"), "grid.architecture", 12),
        (GOOD.replace("  d: [2]\n", ""), "grid", 11),
        (GOOD.replace("variant: lambda_max", "variant: nonsense"), "controls.variant", 23),
        (GOOD.replace("kind: bound", "kind: sometimes"), "kind", 8),
        (GOOD.replace("repetitions: 1", "repetitions: 0"), "repetitions", 10),
        (GOOD.replace("seed: 1\n", "seed: 1\nspeed: 3\n"), "(spec)", 10),
        (GOOD.replace("kind: bound", "kind: probabilistic"), "min_proportion", 0),
        (GOOD.replace("  rel: 1.0e-10\n", "  rel: 1.0e-10\n  tol: 3\n"), "tolerances.tol", 22),
        (GOOD[..GOOD.find("controls:").unwrap()].to_string() + "controls: []\n", "controls", 22),
    ];
    for (text, key, line) in cases {
        let err = check(&text).expect_err(key);
        assert_eq!(err.file, "x.yaml");
        assert!(
            err.key.contains(key) || err.message.contains(key.trim_start_matches("(spec)")),
            "{key}: {err}"
        );
        if line > 0 {
            assert_eq!(err.line, Some(line), "{key}: {err}");
        }
        let shown = err.to_string();
        assert!(shown.starts_with("x.yaml"), "{shown}");
    }
}

#[test]
fn catalogue_fields_are_required_and_checked() {
    let base = GOOD.replace("hypotheses: [h]\n", "HYP").replace("provenance_note: n\n", "NOTE");
    let cases = [
        (base.replace("HYP", "").replace("NOTE", "provenance_note: n\n"), "hypotheses", "required"),
        (
            base.replace("HYP", "hypotheses: []\n").replace("NOTE", "provenance_note: n\n"),
            "hypotheses",
            "required",
        ),
        (
            base.replace("HYP", "hypotheses: ['  ']\n").replace("NOTE", "provenance_note: n\n"),
            "hypotheses",
            "empty",
        ),
        (base.replace("HYP", "hypotheses: [h]\n").replace("NOTE", ""), "provenance_note", "required"),
        (
            base.replace("HYP", "hypotheses: [h]\n").replace("NOTE", "provenance_note: ''\n"),
            "provenance_note",
            "required",
        ),
        (base.replace("HYP", "hypotheses: h\n").replace("NOTE", "provenance_note: n\n"), "hypotheses", ""),
        (GOOD.to_string() + "figures: [fig9]\n", "figures", "fig9"),
        (GOOD.to_string() + "figures: [fig1, fig1]\n", "figures", "twice"),
        (GOOD.to_string() + "figures: [fig01]\n", "figures", "fig01"),
        (GOOD.to_string() + "figures: [figure1]\n", "figures", "figure1"),
        (GOOD.to_string() + "figures: fig1\n", "figures", ""),
        (GOOD.to_string() + "figures: [fig8, jgshg-escape]\n", "figures", "twice"),
        (GOOD.to_string() + "figures: [jgshg-stair]\n", "figures", "jgshg-stair"),
    ];
    for (text, key, msg) in cases {
        let err = check(&text).expect_err(key);
        assert!(err.key.contains(key) || err.message.contains(key), "{key}: {err}");
        assert!(err.message.contains(msg), "{key}: {err}");
    }
    check(&(GOOD.to_string() + "figures: [fig1, fig8]\n")).unwrap();
    check(&(GOOD.to_string() + "figures: [fig6, jgshg-staircase, jgshg-escape]\n")).unwrap();
    // The old name fig8 of a Jacot et al. figure is read as its name; fig7 is the paper's Figure 7.
    let spec =
        dlncheck::framework::spec::Spec::parse(&(GOOD.to_string() + "figures: [fig1, fig8, fig7]\n"), "t")
            .unwrap();
    assert_eq!(spec.figures, ["fig1", "jgshg-escape", "fig7"]);
}

/// The instance count of a run (for the progress bar) is computed without expanding the grids;
/// it must equal the number of instances the expansion gives, on every shipped spec, in both
/// modes, for any run seed.
#[test]
fn instance_counts_match_the_expanded_grids() {
    use dlncheck::framework::runner::count_instances;
    use dlncheck::framework::spec::Mode;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("properties");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let (spec, _) = dlncheck::claims::load_spec(&path).unwrap();
        for mode in [Mode::Full, Mode::Quick] {
            for seed in [0, 7] {
                let expanded = spec.instances(mode, seed).len()
                    + (0..spec.controls.len())
                        .map(|c| spec.control_instances(c, mode, seed).len())
                        .sum::<usize>();
                assert_eq!(count_instances(&spec, mode, seed), expanded, "{} {mode:?}", spec.id);
                assert!(expanded > 0);
            }
        }
        n += 1;
    }
    assert!(n >= 19, "only {n} specs found");
}

/// A tolerance is merged in after the grid: the same key in a control's or the quick grid would be
/// silently overwritten (mc.si.balance's gd_large_step ran at the tolerance's η, not its own).
#[test]
fn a_grid_value_that_a_tolerance_would_overwrite_is_rejected() {
    let control = GOOD.replace("    description: d\n", "    description: d\n    grid: {rel: [0.5]}\n");
    let err = check(&control).expect_err("control grid key also a tolerance");
    assert_eq!(err.key, "controls.grid.rel", "{err}");
    assert!(err.message.contains("tolerance"), "{err}");
    let quick = GOOD.replace("controls:\n", "quick: {grid: {rel: [0.5]}}\ncontrols:\n");
    let err = check(&quick).expect_err("quick grid key also a tolerance");
    assert_eq!(err.key, "quick.grid.rel", "{err}");
    // In the grid (and not a tolerance) a control may override it.
    let moved = GOOD
        .replace("tolerances:\n  rel: 1.0e-10\n", "")
        .replace("  minimizer: [balanced]\n", "  minimizer: [balanced]\n  rel: [1.0e-10]\n")
        .replace("    description: d\n", "    description: d\n    grid: {rel: [0.5]}\n");
    check(&moved).unwrap();
}

#[test]
fn expect_violated_is_a_proportion() {
    for bad in ["0", "-0.5", "1.5", ".nan"] {
        let text = GOOD
            .replace("    description: d\n", &format!("    description: d\n    expect_violated: {bad}\n"));
        let err = check(&text).expect_err(bad);
        assert_eq!(err.key, "controls.expect_violated", "{bad}: {err}");
        assert!(err.message.contains("(0, 1]"), "{bad}: {err}");
    }
    check(&GOOD.replace("    description: d\n", "    description: d\n    expect_violated: 1\n")).unwrap();
}

// ---- grid values, parameter checks and the claim contract (framework/property.rs) --------

use dlncheck::framework::property::{
    Case, Claim, ClaimCode, ClaimError, Controls, GridPoint, Measurement, Param, Value, Variant,
};

#[test]
fn grid_values_convert_and_print() {
    assert_eq!(Value::Int(-3).as_f64(), Some(-3.0));
    assert_eq!(Value::Float(2.5).as_f64(), Some(2.5));
    assert_eq!(Value::Bool(true).as_f64(), None);
    assert_eq!(Value::Str("1".into()).as_f64(), None);
    assert_eq!(Value::Bool(false).to_string(), "false");
    assert_eq!(Value::Int(-7).to_string(), "-7");
    assert_eq!(Value::Float(0.25).to_string(), "0.25");
    assert_eq!(Value::Str("mlp".into()).to_string(), "mlp");
}

fn point() -> GridPoint {
    GridPoint::default()
        .with("x", Value::Float(2.5))
        .with("k", Value::Int(7))
        .with("zero", Value::Int(0))
        .with("neg", Value::Int(-1))
        .with("s", Value::Str("residual".into()))
        .with("yes", Value::Bool(true))
        .with("no", Value::Bool(false))
}

/// The payload of a panic, as text.
fn panics<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> String {
    let e = std::panic::catch_unwind(f).err().expect("must panic");
    e.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn grid_point_getters_read_the_value_of_the_named_parameter() {
    let p = point();
    assert_eq!(p.0.len(), 7, "`with` inserts");
    assert_eq!(p.get("k"), &Value::Int(7));
    assert_eq!(p.f64("x"), 2.5);
    assert_eq!(p.f64("k"), 7.0);
    assert_eq!(p.usize("k"), 7);
    assert_eq!(p.usize("zero"), 0, "0 is a non-negative integer");
    assert_eq!(p.str("s"), "residual");
    assert!(p.bool("yes"));
    assert!(!p.bool("no"));
    assert_eq!(p.choice::<dlncheck::io::recipe::Arch>("s"), dlncheck::io::recipe::Arch::Residual);
    assert_eq!(p.clone().with("k", Value::Int(9)).usize("k"), 9, "`with` replaces");
    // A value of the wrong type is a programming error (specs are validated first): a panic
    // naming the parameter, never a silent default.
    assert!(panics(|| point().usize("neg")).contains("`neg` = -1 is not a non-negative integer"));
    assert!(panics(|| point().usize("x")).contains("`x` = 2.5"));
    assert!(panics(|| point().f64("s")).contains("`s` is not a number"));
    assert!(panics(|| point().str("k").to_string()).contains("`k` = 7 is not a string"));
    assert!(panics(|| point().bool("k")).contains("`k` = 7 is not a boolean"));
    assert!(panics(|| point().get("absent").clone()).contains("`absent` missing"));
    assert!(
        panics(|| point().with("s", Value::Str("cnn".into())).choice::<dlncheck::io::recipe::Arch>("s"))
            .contains("grid parameter `s`")
    );
}

/// The largest float below x and the smallest above (x finite, positive).
fn below(x: f64) -> f64 {
    f64::from_bits(x.to_bits() - 1)
}
fn above(x: f64) -> f64 {
    f64::from_bits(x.to_bits() + 1)
}

#[test]
fn integer_parameters_have_a_range_and_sizes_a_smaller_one() {
    let ok = |p: &Param, i: i64| p.check(&Value::Int(i));
    // Sizes: d, dim, width, rank ≤ 2000; depth ≤ 1000; n ≤ 10⁶; other integers ≤ 10⁷.
    for (name, max) in [
        ("d", 2000),
        ("dim", 2000),
        ("width", 2000),
        ("rank", 2000),
        ("depth", 1000),
        ("n", 1_000_000),
        ("steps", 10_000_000),
    ] {
        let p = Param::int(name, 1, "doc");
        assert_eq!(ok(&p, max), Ok(()), "{name} = {max}");
        assert_eq!(ok(&p, 1), Ok(()), "{name} = min");
        assert_eq!(
            ok(&p, max + 1),
            Err(format!("expected an integer in [1, {max}], got {}", max + 1)),
            "{name}"
        );
        assert_eq!(ok(&p, 0), Err(format!("expected an integer in [1, {max}], got 0")), "{name}");
    }
    // An explicit bound wins over the size default, in both directions.
    let d = Param::int("d", 2, "doc").at_most(50.0);
    assert_eq!(ok(&d, 50), Ok(()));
    assert_eq!(ok(&d, 51), Err("expected an integer in [2, 50], got 51".into()));
    let d = Param::int("d", 0, "doc").at_most(5000.0);
    assert_eq!(ok(&d, 5000), Ok(()));
    // Not an integer at all.
    assert_eq!(
        Param::int("k", 3, "doc").check(&Value::Float(4.0)),
        Err("expected an integer ≥ 3, got 4".into())
    );
    assert_eq!(
        Param::int("k", 3, "doc").check(&Value::Str("x".into())),
        Err("expected an integer ≥ 3, got x".into())
    );
    // at_least applies to numbers only: an integer parameter keeps its own minimum.
    assert_eq!(Param::int("k", 3, "doc").at_least(0.0), Param::int("k", 3, "doc"));
}

#[test]
fn number_parameters_are_finite_in_their_range_and_positive_when_asked() {
    let float = Param::float("x", "doc");
    let pos = Param::positive("eta", "doc");
    let v = |x: f64| Value::Float(x);
    assert_eq!(float.check(&v(-5.0)), Ok(()));
    assert_eq!(float.check(&v(0.0)), Ok(()));
    assert_eq!(float.check(&Value::Int(-2)), Ok(()), "an integer is a number");
    assert_eq!(float.check(&v(f64::MAX)), Ok(()));
    assert_eq!(float.check(&v(f64::MIN)), Ok(()));
    assert_eq!(float.check(&v(f64::INFINITY)), Err("expected a finite number, got inf".into()));
    assert_eq!(float.check(&v(f64::NAN)), Err("expected a finite number, got NaN".into()));
    assert_eq!(float.check(&Value::Bool(true)), Err("expected a finite number, got true".into()));
    assert_eq!(pos.check(&v(f64::MIN_POSITIVE)), Ok(()));
    assert_eq!(pos.check(&v(1.0)), Ok(()));
    assert_eq!(pos.check(&v(0.0)), Err("expected a positive finite number, got 0".into()));
    assert_eq!(pos.check(&v(-1.0)), Err("expected a positive finite number, got -1".into()));
    assert_eq!(pos.check(&v(f64::NEG_INFINITY)), Err("expected a positive finite number, got -inf".into()));
    // Ranges are inclusive, and the message states them.
    let lo = Param::float("x", "doc").at_least(0.5);
    let hi = Param::float("x", "doc").at_most(2.0);
    let both = Param::positive("x", "doc").at_least(0.5).at_most(2.0);
    assert_eq!(lo.check(&v(0.5)), Ok(()));
    assert_eq!(lo.check(&v(1e300)), Ok(()));
    assert_eq!(lo.check(&v(below(0.5))), Err(format!("expected a finite number ≥ 0.5, got {}", below(0.5))));
    assert_eq!(hi.check(&v(2.0)), Ok(()));
    assert_eq!(hi.check(&v(-1e300)), Ok(()));
    assert_eq!(hi.check(&v(above(2.0))), Err(format!("expected a finite number ≤ 2, got {}", above(2.0))));
    assert_eq!(both.check(&v(0.5)), Ok(()));
    assert_eq!(both.check(&v(2.0)), Ok(()));
    assert_eq!(both.check(&v(3.0)), Err("expected a positive finite number in [0.5, 2], got 3".into()));
    assert_eq!(both.check(&v(0.25)), Err("expected a positive finite number in [0.5, 2], got 0.25".into()));
}

#[test]
fn choice_and_boolean_parameters() {
    let c = Param::choice("arch", &["mlp", "residual"], "doc");
    assert_eq!(c.check(&Value::Str("mlp".into())), Ok(()));
    assert_eq!(c.check(&Value::Str("residual".into())), Ok(()));
    assert_eq!(c.check(&Value::Str("cnn".into())), Err("expected one of mlp, residual, got cnn".into()));
    assert_eq!(c.check(&Value::Int(1)), Err("expected one of mlp, residual, got 1".into()));
    assert_eq!(c.at_most(3.0), c, "a bound leaves a choice alone");
    let b = Param::boolean("flag", "doc");
    assert_eq!(b.check(&Value::Bool(false)), Ok(()));
    assert_eq!(b.check(&Value::Bool(true)), Ok(()));
    assert_eq!(b.check(&Value::Str("yes".into())), Err("expected true or false, got yes".into()));
}

#[test]
fn claim_errors_keep_the_message_of_their_cause() {
    use dlncheck::engine::{linalg::EigenError, objective::DataError, spectrum};
    let nc = || spectrum::NotConverged { iterations: 7, residual: 0.5, tol: 1e-10 };
    assert_eq!(ClaimError::from(nc()).0, nc().to_string());
    assert!(nc().to_string().contains("7 iterations"));
    assert_eq!(
        ClaimError::from(spectrum::SpectrumError::Eigen(EigenError("boom".into()))).0,
        "Hessian eigenvalues: boom"
    );
    assert_eq!(ClaimError::from(EigenError("bad pivot".into())).0, "bad pivot");
    let data = DataError::Invalid { field: "y".into(), message: "not finite".into() };
    assert_eq!(ClaimError::from(data).0, "y: not finite");
    assert_eq!(
        ClaimError::from(dlncheck::lowrank::LowRankError::Diverged(2.5)).0,
        "gradient flow diverged at t = 2.5"
    );
}

dlncheck::controls! {
    enum Toy { A = "alpha", B = "beta", C = "gamma" }
}

/// A claim written as claim modules are (typed controls), to see what the runner's view of it
/// passes through: tightness 1 for the claim, 10 + the control's position for each control.
struct ToyClaim;

static TOY_PARAMS: [Param; 1] = [Param::boolean("flag", "doc")];

impl ClaimCode for ToyClaim {
    type Control = Toy;
    fn id(&self) -> &'static str {
        "toy"
    }
    fn params(&self) -> &'static [Param] {
        &TOY_PARAMS
    }
    fn measure(&self, _: &GridPoint, seed: u64, case: Case<Toy>) -> Result<Measurement, ClaimError> {
        let t = match case {
            Case::Claim => 1.0,
            Case::Control(Toy::A) => 10.0,
            Case::Control(Toy::B) => 11.0,
            Case::Control(Toy::C) => 12.0,
        };
        Ok(Measurement::from_tightness(t, 0.0).value("seed", seed as f64))
    }
}

#[test]
fn the_typed_claim_contract_maps_control_names_to_variants() {
    assert_eq!(Toy::from_name("alpha"), Some(Toy::A));
    assert_eq!(Toy::from_name("beta"), Some(Toy::B));
    assert_eq!(Toy::from_name("gamma"), Some(Toy::C));
    assert_eq!(Toy::from_name("delta"), None);
    let c: &dyn Claim = &ToyClaim;
    assert_eq!(c.id(), "toy");
    assert_eq!(c.params(), &TOY_PARAMS);
    assert_eq!(c.controls(), &["alpha", "beta", "gamma"]);
    let p = GridPoint::default();
    let t = |v| c.measure(&p, 5, v).map(|m| (m.tightness, m.values["seed"]));
    assert_eq!(t(Variant::Claim), Ok((Some(1.0), 5.0)));
    assert_eq!(t(Variant::Control("alpha")), Ok((Some(10.0), 5.0)));
    assert_eq!(t(Variant::Control("gamma")), Ok((Some(12.0), 5.0)));
    assert_eq!(t(Variant::Control("delta")), Err(ClaimError("unknown control `delta` of `toy`".into())));
    assert!(c.instance(&p, 5, Variant::Claim).is_none(), "no instance file unless the claim writes one");
}

#[test]
fn a_regression_claim_gives_the_instance_of_its_point_and_none_for_an_unknown_control() {
    use dlncheck::framework::spec::Mode;
    let spec = Spec::parse(GOOD, "x.yaml").unwrap();
    let claim = dlncheck::claims::find(&spec.id).unwrap();
    let i = &spec.instances(Mode::Full, 1)[0];
    let inst = claim.instance(&i.point, i.seed, Variant::Claim).expect("an instance file");
    // d = 2, depth 2, MLP: W₁ is 2 × 2 and W₂ is 1 × 2, six parameters.
    assert_eq!(inst.theta.len(), 6);
    assert!(claim.instance(&i.point, i.seed, Variant::Control("lambda_max")).is_some());
    assert!(claim.instance(&i.point, i.seed, Variant::Control("nonsense")).is_none());
}

// ---- spec.rs: validation of min_proportion, seeds, error paths, line lookup, spec listing ----

/// `min_proportion` is required and in [0, 1] for a probabilistic check, and refused for any
/// other kind.
#[test]
fn min_proportion_is_checked_against_the_kind() {
    let prob = GOOD.replace("kind: bound", "kind: probabilistic");
    for bad in ["1.5", "-0.1"] {
        let err =
            check(&prob.replace("seed: 1\n", &format!("seed: 1\nmin_proportion: {bad}\n"))).expect_err(bad);
        assert_eq!(err.key, "min_proportion", "{bad}: {err}");
        assert!(err.message.contains("must lie in [0, 1]"), "{bad}: {err}");
    }
    // Inside [0, 1] with the probabilistic kind: nothing to say about min_proportion.
    for good in ["0", "0.9", "1"] {
        if let Err(err) = check(&prob.replace("seed: 1\n", &format!("seed: 1\nmin_proportion: {good}\n"))) {
            assert_ne!(err.key, "min_proportion", "{good}: {err}");
        }
    }
    let err = check(&GOOD.replace("seed: 1\n", "seed: 1\nmin_proportion: 0.5\n")).expect_err("bound");
    assert_eq!(err.key, "min_proportion", "{err}");
    assert!(err.message.contains("only meaningful for kind: probabilistic"), "{err}");
}

/// SplitMix64's output function (Steele, Lea & Flood 2014), written out from its published
/// constants; its first output from state 0 is the published 0xE220A8397B1DCDAF.
fn splitmix(z: u64) -> u64 {
    let z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An instance's seed folds (run seed, control stream, index) into the spec's seed by
/// x ← SplitMix64(x ⊕ SplitMix64(v)), as the spec module documents.
#[test]
fn instance_seeds_follow_splitmix64() {
    use dlncheck::framework::spec::instance_seed;
    assert_eq!(splitmix(0), 0xE220_A839_7B1D_CDAF);
    for (s, r, c, i) in [(0u64, 0u64, 0u64, 0u64), (1, 0, 0, 3), (7, 11, 2, 5), (u64::MAX, 3, 1, 1 << 40)] {
        let mut x = s;
        for v in [r, c, i] {
            x = splitmix(x ^ splitmix(v));
        }
        assert_eq!(instance_seed(s, r, c, i), x, "({s}, {r}, {c}, {i})");
    }
}

/// Claim instances use stream 0 and control c stream 1 + c: every seed of a spec with three
/// controls is distinct, and each is the documented function of its stream and index.
#[test]
fn controls_draw_from_their_own_seed_streams() {
    use dlncheck::framework::spec::{Mode, instance_seed};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("properties/mc.thm1.lower_bound.yaml");
    let (spec, _) = dlncheck::claims::load_spec(&path).unwrap();
    assert!(spec.controls.len() >= 3);
    let run = 5;
    let mut all = std::collections::BTreeSet::new();
    for (stream, instances) in std::iter::once((0, spec.instances(Mode::Quick, run)))
        .chain((0..spec.controls.len()).map(|c| (1 + c as u64, spec.control_instances(c, Mode::Quick, run))))
    {
        for inst in instances {
            assert_eq!(
                inst.seed,
                instance_seed(spec.seed, run, stream, inst.index as u64),
                "stream {stream}"
            );
            assert!(all.insert(inst.seed), "seed {} repeated (stream {stream})", inst.seed);
        }
    }
}

/// serde_yaml's "path: message" errors are split at the path only when the path has no space;
/// an unknown field's message (which has spaces before its colon) is kept whole under "(spec)".
#[test]
fn parse_errors_name_the_path_serde_gives() {
    let err = check(&GOOD.replace("repetitions: 1", "repetitions: many")).expect_err("type");
    assert_eq!(err.key, "repetitions", "{err}");
    assert!(err.message.starts_with("invalid type"), "{err}");
    let err = check(&GOOD.replace("seed: 1\n", "seed: 1\nspeed: 3\n")).expect_err("unknown");
    assert_eq!(err.key, "(spec)", "{err}");
    assert!(err.message.contains("unknown field `speed`"), "{err}");
    // A document that is not a mapping: serde's message has no path, and its first ": " follows
    // words ("invalid type: sequence, …"), which are not a key.
    let err = Spec::parse("- a\n- b\n", "x.yaml").expect_err("not a mapping");
    assert_eq!(err.key, "(spec)", "{err}");
    assert!(err.message.starts_with("invalid type: sequence"), "{err}");
}

/// The line of a key path: block keys at the margin and indented, a key after its parent, flow
/// style, and a missing key.
#[test]
fn find_line_locates_block_and_flow_keys() {
    use dlncheck::framework::spec::find_line;
    assert_eq!(find_line(GOOD, &["kind"]), Some(8));
    assert_eq!(find_line(GOOD, &["grid", "d"]), Some(13));
    assert_eq!(find_line(GOOD, &["tolerances", "rel"]), Some(21));
    assert_eq!(find_line(GOOD, &["controls", "variant"]), Some(23));
    assert_eq!(find_line("a: 1\nq: {grid: {rel: [0.5]}}\n", &["q", "grid", "rel"]), Some(2));
    assert_eq!(find_line(GOOD, &["grid", "nonexistent"]), None);
}

/// A properties folder lists its `.yaml` files only, sorted by name; a missing folder is an
/// error naming it.
#[test]
fn spec_files_lists_yaml_files_sorted() {
    use dlncheck::framework::spec::spec_files;
    let dir = std::env::temp_dir().join(format!("dlncheck-spec-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["b.yaml", "a.yaml", "c.txt", "d.yml"] {
        std::fs::write(dir.join(f), "x: 1\n").unwrap();
    }
    let files = spec_files(&dir).unwrap();
    let names: Vec<_> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["a.yaml", "b.yaml"]);
    std::fs::remove_dir_all(&dir).unwrap();
    let err = spec_files(&dir).expect_err("missing folder");
    assert_eq!(err.key, "(directory)");
    assert!(err.message.contains("cannot read"), "{err}");
}
