//! Invalid property specs are rejected with the file, the key and the line named.

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
