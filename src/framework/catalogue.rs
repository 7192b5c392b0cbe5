//! The claims catalogue (`docs/claims.md`), generated from the specs by
//! `dlncheck list --format markdown`: per claim the paper, label, statement, hypotheses,
//! provenance and why, tolerances, grids, controls, figures and where the check lives.
//! Also the facts shared with the HTML report (provenance meanings, figure captions, paths).

use crate::framework::property::{CheckKind, Claim};
use crate::framework::spec::{Mode, Provenance, Spec};

/// What a provenance value means, in one sentence.
pub fn provenance_meaning(p: Provenance) -> &'static str {
    match p {
        Provenance::Paper => "the paper states this claim; its statement and constant are confirmed",
        Provenance::PaperReconstructed => {
            "the paper makes this claim; its exact constant or hypotheses are our reading"
        }
        Provenance::Derived => "a fact proved for the harness; the paper does not claim it",
    }
}

/// The spec's provenance as written in specs and reports (`paper`, `paper, form reconstructed`,
/// `derived`).
pub fn provenance_name(p: Provenance) -> &'static str {
    match p {
        Provenance::Paper => "paper",
        Provenance::PaperReconstructed => "paper, form reconstructed",
        Provenance::Derived => "derived",
    }
}

/// The verdict rule of a kind, in one sentence.
pub fn kind_rule(k: CheckKind) -> &'static str {
    match k {
        CheckKind::Bound => "a bound: must hold on every measured instance (tightness ≥ 1)",
        CheckKind::Equality => {
            "an identity to a stated tolerance, on every measured instance (error/tol ≤ 1)"
        }
        CheckKind::Limit => "a limit: every converged instance within its tolerance",
        CheckKind::Probabilistic => {
            "holds with high probability: the proportion holding must reach min_proportion"
        }
    }
}

/// The kind's name as in specs (`bound`, `equality`, `limit`, `probabilistic`).
pub fn kind_name(k: CheckKind) -> &'static str {
    match k {
        CheckKind::Bound => "bound",
        CheckKind::Equality => "equality",
        CheckKind::Limit => "limit",
        CheckKind::Probabilistic => "probabilistic",
    }
}

/// The figures of `dlncheck figures`, with what each shows.
pub const FIGURES: [(&str, &str); 9] = [
    (
        "fig1",
        "MLP (d = 5, L = 10): sharpness at initialisation and after training vs scale, with 2/η, LB and 8LΛ",
    ),
    ("fig2", "residual, s = 0.25: final distance to w* vs learning rate per depth, with 1/(La)"),
    ("fig3", "MLP: distance to w* and divergence probability vs initialisation scale"),
    ("fig4", "residual (L = 10): sharpness at initialisation and after training vs s, with 2/η and LB"),
    ("fig5", "residual: distance to w* and divergence probability vs s"),
    ("fig6", "MLP with n = 15 < d = 20: sharpness vs scale; generalisation gap vs sharpness"),
    ("fig7", "GELU MLP (L = 10, noise-free data): sharpness, training loss and divergence vs scale"),
    ("jgshg-staircase", "Jacot et al.: loss and numerical rank vs time, small vs large initialisation"),
    ("jgshg-escape", "Jacot et al.: escape time of each mode vs ε per depth, with fitted slopes"),
];

/// Old names of the Jacot et al. figures, still accepted in a spec's `figures` for one release
/// (`fig7` is Marion & Chizat's Figure 7, GELU MLPs, since this release): (old name, name).
pub const FIGURE_ALIASES: [(&str, &str); 1] = [("fig8", "jgshg-escape")];

/// The name of a figure given by its name or a deprecated alias; `None` if it is neither.
pub fn canonical_figure(name: &str) -> Option<&'static str> {
    FIGURES
        .iter()
        .map(|(n, _)| *n)
        .find(|n| *n == name)
        .or_else(|| FIGURE_ALIASES.iter().find(|(old, _)| *old == name).map(|(_, n)| *n))
}

/// The caption of a figure name (`fig1` …, `jgshg-staircase`, or an alias), if it is one.
pub fn figure_caption(name: &str) -> Option<&'static str> {
    let name = canonical_figure(name)?;
    FIGURES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// The spec file of a property, relative to the repository root.
pub fn spec_path(id: &str) -> String {
    format!("properties/{id}.yaml")
}

/// The claim module of a property (dots → underscores), relative to the repository root.
pub fn module_path(id: &str) -> String {
    format!("src/claims/{}.rs", id.replace('.', "_"))
}

/// Markdown-escapes inline text: characters that would start emphasis, code, links or HTML.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' | '_' | '`' | '[' | ']' | '\\' | '|' => {
                out.push('\\');
                out.push(c);
            }
            // `<` opens an HTML tag only before a letter, `/`, `!` or `?`.
            '<' if chars.peek().is_some_and(|n| n.is_ascii_alphabetic() || "/!?".contains(*n)) => {
                out.push_str("&lt;")
            }
            _ => out.push(c),
        }
    }
    out
}

fn anchor(id: &str) -> String {
    id.replace('.', "")
}

/// A spec value as written by a person: 1e-10 rather than 0.0000000001.
pub fn show_value(v: &crate::framework::property::Value) -> String {
    match v {
        crate::framework::property::Value::Float(x) if *x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e5) => {
            format!("{x:e}")
        }
        v => v.to_string(),
    }
}

fn values(v: &crate::framework::spec::OneOrMany) -> String {
    use crate::framework::spec::OneOrMany;
    match v {
        OneOrMany::One(x) => show_value(x),
        OneOrMany::Many(xs) => {
            let s: Vec<String> = xs.iter().map(show_value).collect();
            if xs.len() == 1 { s[0].clone() } else { format!("{{{}}}", s.join(", ")) }
        }
    }
}

/// The catalogue in Markdown, claims in the given order. Paths are relative to `docs/`.
pub fn markdown(specs: &[(Spec, &dyn Claim)]) -> String {
    let mut o = String::new();
    o.push_str("# The claims dlncheck checks\n\n");
    o.push_str(
        "<!-- Generated from properties/*.yaml by `dlncheck list --format markdown > docs/claims.md`. \
         Do not edit by hand: edit the specs and regenerate (tests/catalogue.rs fails otherwise). -->\n\n",
    );
    o.push_str(
        "Each claim of the two papers is a property: a spec in `properties/<id>.yaml` and a module in \
         `src/claims/<id>.rs`. Notation, and the papers' experimental settings, are in \
         [notation.md](notation.md). Sources:\n\n\
         - **MC**: Marion & Chizat, *Deep linear networks for regression are implicitly regularized \
         towards flat minima*, NeurIPS 2024 (arXiv 2405.13456).\n\
         - **JGSHG**: Jacot, Ged, Şimşek, Hongler, Gabriel, *Deep Linear Networks Dynamics: Low-Rank \
         Biases Induced by Initialization Scale and L2 Regularization*, arXiv 2106.15933 v1 (2021).\n\n",
    );
    o.push_str("**Provenance** says how sure we are of a claim's exact form:\n\n");
    for p in [Provenance::Paper, Provenance::PaperReconstructed, Provenance::Derived] {
        o.push_str(&format!("- `{}`: {}.\n", provenance_name(p), provenance_meaning(p)));
    }
    o.push_str(
        "\n**Tightness** is oriented so that a claim holds iff it is ≥ 1, and 1 means tight \
         (measured/bound for a lower bound, bound/measured for an upper bound); identities and limits \
         report error/tolerance, which holds iff ≤ 1. Every property has negative controls \
         (hypotheses violated, or the bound deliberately tightened), each of which must be seen to fail.\n\n",
    );
    o.push_str("| property | label | provenance | kind | controls |\n|---|---|---|---|---|\n");
    for (s, _) in specs {
        o.push_str(&format!(
            "| [`{}`](#{}) | {} | {} | {} | {} |\n",
            s.id,
            anchor(&s.id),
            md(&s.source.label),
            provenance_name(s.source.provenance),
            kind_name(s.kind),
            s.controls.len()
        ));
    }
    for (s, claim) in specs {
        o.push_str(&format!("\n## {}\n\n", s.id));
        o.push_str(&format!("**{}**\n\n", md(&s.title)));
        o.push_str(&format!("- Paper: {}\n", md(&s.source.paper)));
        o.push_str(&format!("- Label: {}\n", md(&s.source.label)));
        o.push_str(&format!("- Kind: `{}`, {}\n", kind_name(s.kind), kind_rule(s.kind)));
        if let Some(p) = s.min_proportion {
            o.push_str(&format!("- Minimum proportion: {p}\n"));
        }
        o.push_str(&format!("\nStatement:\n\n> {}\n\nHypotheses:\n\n", md(&s.statement)));
        for h in &s.hypotheses {
            o.push_str(&format!("- {}\n", md(h)));
        }
        o.push_str(&format!(
            "\nProvenance: `{}` ({}). {}\n\n",
            provenance_name(s.source.provenance),
            provenance_meaning(s.source.provenance),
            md(&s.provenance_note)
        ));
        let params = claim.params();
        let doc = |k: &str| params.iter().find(|p| p.name == k).map(|p| p.doc).unwrap_or("");
        if !s.tolerances.is_empty() {
            o.push_str("Tolerances:\n\n| name | value | meaning |\n|---|---|---|\n");
            for (k, v) in &s.tolerances {
                o.push_str(&format!("| `{k}` | {} | {} |\n", show_value(v), md(doc(k))));
            }
            o.push('\n');
        }
        let full = s.instances(Mode::Full, 0).len();
        let quick = s.instances(Mode::Quick, 0).len();
        o.push_str(&format!(
            "Grid ({full} instances; `--quick`: {quick}), {} repetition(s) of:\n\n",
            s.repetitions
        ));
        for (k, v) in &s.grid {
            o.push_str(&format!("- `{k}` = {}: {}\n", md(&values(v)), md(doc(k))));
        }
        o.push_str("\nNegative controls (each must fail):\n\n");
        for c in &s.controls {
            o.push_str(&format!("- `{}`: {}\n", c.variant, md(&c.description)));
        }
        if !s.figures.is_empty() {
            o.push_str("\nFigures (`dlncheck figures --only ");
            o.push_str(&s.figures.join(","));
            o.push_str("`):\n\n");
            for f in &s.figures {
                o.push_str(&format!("- {f}: {}\n", md(figure_caption(f).unwrap_or(""))));
            }
        }
        o.push_str(&format!(
            "\nWhere: spec [`{sp}`](../{sp}), claim [`{mp}`](../{mp}); run it with \
             `dlncheck check --only {id}`.\n",
            sp = spec_path(&s.id),
            mp = module_path(&s.id),
            id = s.id
        ));
    }
    o
}
