//! Cost-model files that include others (`include = [..]`) given by path, as a user's
//! untrusted files: what an include takes in, and every way an include can be refused, each
//! with its exact message and exit status 2.

mod cli_run;
mod scratch;

use cli_run::hawkeye;
use std::path::Path;

/// The error `profile mlp -f MODEL` ends with, checked to exit with status 2.
fn load_error(model: &Path) -> String {
    let (code, stdout, stderr) = hawkeye(&["profile", "mlp", "-f", model.to_str().unwrap()]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    stderr.trim_end().to_string()
}

fn write(path: &Path, text: &str) {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

const HEADER: &str = "[framework]\nname = \"toy\"\ndescription = \"toy\"\nprovenance = \"test\"\n\
     rounds = \"messages\"\ndefault_weights = \"secret\"\n\
     local_ops = [\"add\", \"flatten\", \"reshape\", \"identity\"]\n\
     [params]\nparties = 2\nring = 64\n\
     [primitives.open]\nargs = [\"n\"]\nonline_bits = \"ring*n\"\nonline_rounds = \"1\"\n";

/// The lowerings of the MLP's ops (linear, relu), in a file of their own.
const MLP_OPS: &str =
    "[functions.relu]\nargs = [\"n\"]\nsteps = [{ call = \"open\", n = \"2*n\" }]\n\
     [ops.relu]\ns = [{ call = \"relu\", n = \"out\" }]\n\
     [ops.linear]\nss = [{ call = \"open\", n = \"m*k + k*n\" }]\n";

/// A toy model in `dir/NAME` that includes `includes` (written as TOML strings) and has
/// `body` after the header.
fn model(dir: &Path, name: &str, includes: &[&str], body: &str) -> std::path::PathBuf {
    let list: Vec<String> = includes.iter().map(|i| format!("{i:?}")).collect();
    let path = dir.join(name);
    write(
        &path,
        &format!("include = [{}]\n{HEADER}{body}", list.join(", ")),
    );
    path
}

fn profile_json(model: &str) -> String {
    let (code, stdout, stderr) = hawkeye(&["profile", "mlp", "-f", model, "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    stdout
}

#[test]
fn an_included_file_costs_as_if_written_in_place() {
    let dir = scratch::dir("includes-same");
    let inline = model(&dir, "inline.toml", &[], MLP_OPS);
    write(&dir.join("lib/mlp-ops.toml"), MLP_OPS);
    let included = model(&dir, "included.toml", &["lib/mlp-ops.toml"], "");
    let (a, b) = (
        profile_json(inline.to_str().unwrap()),
        profile_json(included.to_str().unwrap()),
    );
    assert_eq!(a, b);
    // 784-128-128-10 with ReLU, batch 1: each linear opens its two operands (m*k + k*n
    // elements), each ReLU 2 * 128 elements: (784 + 784*128 + 128 + 128*128 + 128 + 128*10 +
    // 256 + 256) * 64 bits.
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["total"]["online_bits"].as_f64(), Some(7_652_352.0));
}

#[test]
fn a_copy_of_cost_models_costs_as_the_builtin_models() {
    // The built-in models include embedded files; the same files on disk give the same figures.
    let dir = scratch::dir("includes-copy");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("cost_models");
    for file in [
        "aby3.toml",
        "shared/mpspdz-functions.toml",
        "shared/mpspdz-ops.toml",
    ] {
        write(
            &dir.join(file),
            &std::fs::read_to_string(source.join(file)).unwrap(),
        );
    }
    let copy = dir.join("aby3.toml");
    let (code, from_disk, stderr) = hawkeye(&[
        "profile",
        "bert-tiny",
        "-f",
        copy.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (_, builtin, _) = hawkeye(&["profile", "bert-tiny", "-f", "aby3", "--format", "json"]);
    assert_eq!(from_disk, builtin);
}

#[test]
fn an_entry_is_defined_in_one_file_only() {
    let dir = scratch::dir("includes-duplicate");
    write(&dir.join("ops.toml"), MLP_OPS);
    // The including file defines what the included one does.
    let m = model(
        &dir,
        "m.toml",
        &["ops.toml"],
        "[ops.relu]\ns = [{ call = \"open\", n = \"out\" }]\n",
    );
    let shown = |p: &Path| p.display().to_string();
    assert_eq!(
        load_error(&m),
        format!(
            "error: {}: include[0]: \"ops.toml\" defines ops.relu, which {} defines too; an \
             entry is defined in one file only, so remove one of the two",
            shown(&m),
            shown(&m)
        )
    );
    // Two included files define the same entry.
    write(
        &dir.join("more.toml"),
        "[functions.relu]\nargs = [\"n\"]\nsteps = []\n",
    );
    let m = model(&dir, "two.toml", &["ops.toml", "more.toml"], "");
    assert_eq!(
        load_error(&m),
        format!(
            "error: {}: include[1]: \"more.toml\" defines functions.relu, which {} defines too; \
             an entry is defined in one file only, so remove one of the two",
            shown(&m),
            shown(&dir.join("ops.toml"))
        )
    );
}

#[test]
fn includes_may_not_leave_the_folder() {
    let dir = scratch::dir("includes-escape");
    let inner = dir.join("models");
    write(&dir.join("outside.toml"), MLP_OPS);
    let m = model(&inner, "up.toml", &["../outside.toml"], "");
    assert_eq!(
        load_error(&m),
        format!(
            "error: {}: include[0]: \"../outside.toml\" goes up a folder with '..', and an \
             include may not leave the folder of the file that includes it; move the file into \
             this folder or below it",
            m.display()
        )
    );
    // `..` anywhere in the path, even where it would come back into the folder.
    let m = model(&inner, "back.toml", &["sub/../ops.toml"], "");
    assert!(
        load_error(&m).contains("\"sub/../ops.toml\" goes up a folder with '..'"),
        "{}",
        load_error(&m)
    );
    let absolute = dir.join("outside.toml").display().to_string();
    let m = model(&inner, "absolute.toml", &[&absolute], "");
    assert_eq!(
        load_error(&m),
        format!(
            "error: {}: include[0]: \"{absolute}\" is an absolute path, and an include is \
             relative to the folder of the file that includes it; move the file into this \
             folder or below it and name it relative to this file",
            m.display()
        )
    );
    // A link in the folder to a file outside it, and a linked folder leading outside.
    std::os::unix::fs::symlink(dir.join("outside.toml"), inner.join("link.toml")).unwrap();
    std::os::unix::fs::symlink(&dir, inner.join("linked")).unwrap();
    for include in ["link.toml", "linked/outside.toml"] {
        let m = model(&inner, "linked.toml", &[include], "");
        assert_eq!(
            load_error(&m),
            format!(
                "error: {}: include[0]: \"{include}\" leads out of the folder of this file \
                 through a symbolic link, and an include may not leave that folder; copy the \
                 file into the folder instead of linking to it",
                m.display()
            )
        );
    }
    // A link that stays in the folder is followed.
    write(&inner.join("lib/ops.toml"), MLP_OPS);
    std::os::unix::fs::symlink(inner.join("lib/ops.toml"), inner.join("ops-link.toml")).unwrap();
    let m = model(&inner, "inside.toml", &["ops-link.toml"], "");
    profile_json(m.to_str().unwrap());
    // An included file's includes stay in its own folder: lib/ cannot reach models/.
    write(&inner.join("lib/up.toml"), "include = [\"../ops.toml\"]\n");
    let m = model(&inner, "nested.toml", &["lib/up.toml"], "");
    assert_eq!(
        load_error(&m),
        format!(
            "error: {}: include[0]: \"../ops.toml\" goes up a folder with '..', and an include \
             may not leave the folder of the file that includes it; move the file into this \
             folder or below it",
            inner.join("lib/up.toml").display()
        )
    );
}

#[test]
fn cycles_repeats_missing_files_and_depth_are_refused() {
    let dir = scratch::dir("includes-cycle");
    let m = dir.join("m.toml");
    write(&dir.join("a.toml"), "include = [\"b.toml\"]\n");
    write(&dir.join("b.toml"), "include = [\"a.toml\"]\n");
    let m_shown = m.display().to_string();
    let (a, b) = (dir.join("a.toml"), dir.join("b.toml"));
    write(&m, &format!("include = [\"a.toml\"]\n{HEADER}{MLP_OPS}"));
    assert_eq!(
        load_error(&m),
        format!(
            "error: {}: include[0]: \"a.toml\" includes a file that is already being included \
             (include cycle: {} > {} > {}); remove one include of the cycle",
            b.display(),
            a.display(),
            b.display(),
            a.display()
        )
    );
    // A model that includes itself.
    let own = model(&dir, "own.toml", &["own.toml"], MLP_OPS);
    assert_eq!(
        load_error(&own),
        format!(
            "error: {0}: include[0]: \"own.toml\" includes a file that is already being \
             included (include cycle: {0} > {0}); remove one include of the cycle",
            own.display()
        )
    );
    // The same file twice (no entry, so no duplicate entry either).
    write(&dir.join("empty.toml"), "");
    let twice = model(&dir, "twice.toml", &["empty.toml", "./empty.toml"], MLP_OPS);
    assert_eq!(
        load_error(&twice),
        format!(
            "error: {0}: include[1]: \"./empty.toml\" is already included (by {0}); include \
             each file once",
            twice.display()
        )
    );
    let missing = model(&dir, "missing.toml", &["lib/nope.toml"], MLP_OPS);
    assert_eq!(
        load_error(&missing),
        format!(
            "error: {}: include[0]: \"lib/nope.toml\" does not exist (looked for {}); check the \
             name, or copy the file there",
            missing.display(),
            dir.join("lib/nope.toml").display()
        )
    );
    // A chain of nine files, each including the next: the ninth is one level too deep.
    for level in 1..=9 {
        write(
            &dir.join(format!("deep/l{level}.toml")),
            &format!("include = [\"l{}.toml\"]\n", level + 1),
        );
    }
    write(&dir.join("deep/l10.toml"), "");
    let deep = model(&dir.join("deep"), "top.toml", &["l1.toml"], MLP_OPS);
    assert_eq!(
        load_error(&deep),
        format!(
            "error: {}: include[0]: \"l9.toml\" would be included 9 levels deep, over the limit \
             of 8; include it from a file nearer the model",
            dir.join("deep/l8.toml").display()
        )
    );
    assert_eq!(m_shown, m.display().to_string());
}

#[test]
fn the_count_and_the_total_size_of_included_files_are_bounded() {
    let dir = scratch::dir("includes-bounds");
    // 65 empty files: the 65th is one too many.
    let names: Vec<String> = (0..65).map(|i| format!("e{i}.toml")).collect();
    for name in &names {
        write(&dir.join(name), "");
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let many = model(&dir, "many.toml", &refs, MLP_OPS);
    assert_eq!(
        load_error(&many),
        format!(
            "error: {}: include[64]: \"e64.toml\" would be the 65th included file, over the \
             limit of 64; merge some of the included files",
            many.display()
        )
    );
    profile_json(
        model(&dir, "enough.toml", &refs[..64], MLP_OPS)
            .to_str()
            .unwrap(),
    );
    // Five files of 1,000,000 bytes each: the fifth brings the total over 4 MiB.
    let comment = format!("#{}\n", "x".repeat(999_998));
    for i in 0..5 {
        write(&dir.join(format!("t{i}.toml")), &comment);
    }
    let big = model(
        &dir,
        "big.toml",
        &["t0.toml", "t1.toml", "t2.toml", "t3.toml", "t4.toml"],
        MLP_OPS,
    );
    assert_eq!(
        load_error(&big),
        format!(
            "error: {}: include[4]: \"t4.toml\" brings the included files over 4194304 bytes in \
             all; include fewer or smaller files",
            big.display()
        )
    );
}

#[test]
fn included_files_are_checked_like_models() {
    let dir = scratch::dir("includes-checked");
    // A folder, a file over the size limit, and text that is not UTF-8.
    std::fs::create_dir_all(dir.join("folder.toml")).unwrap();
    write(&dir.join("big.toml"), &"#".repeat(1 << 20 | 1));
    std::fs::write(dir.join("latin1.toml"), b"# caf\xe9\n").unwrap();
    for (include, reason) in [
        (
            "folder.toml",
            "is not a regular file; name a cost-model .toml file",
        ),
        (
            "big.toml",
            "is over 1048576 bytes, the limit of a cost-model file; check that it is the right \
             file",
        ),
        (
            "latin1.toml",
            "is not UTF-8 text (byte 5); save it as UTF-8",
        ),
    ] {
        let m = model(&dir, "m.toml", &[include], MLP_OPS);
        assert_eq!(
            load_error(&m),
            format!("error: {}: include[0]: \"{include}\" {reason}", m.display())
        );
    }
    // The model itself is held to the same size.
    write(&dir.join("big-model.toml"), &"#".repeat(1 << 20 | 1));
    assert_eq!(
        load_error(&dir.join("big-model.toml")),
        format!(
            "error: {}: file: the file is over 1048576 bytes, the limit of a cost-model file; \
             check that it is the right file",
            dir.join("big-model.toml").display()
        )
    );
    // An included file holds shared entries only, not a whole model.
    write(&dir.join("whole.toml"), HEADER);
    let m = model(&dir, "whole-in.toml", &["whole.toml"], MLP_OPS);
    assert_eq!(
        load_error(&m),
        format!(
            "error: {} (included by {}): line 1: unknown field `framework`, expected one of \
             `include`, `primitives`, `functions`, `ops`, `unsupported`",
            dir.join("whole.toml").display(),
            m.display()
        )
    );
    // An error in an included entry names the included file, found at any depth of a call.
    write(
        &dir.join("broken.toml"),
        "[functions.relu]\nargs = [\"n\"]\nsteps = [{ call = \"open\", n = \"q*n\" }]\n\
         [ops.relu]\ns = [{ call = \"relu\", n = \"out\" }]\n",
    );
    let m = model(
        &dir,
        "broken-in.toml",
        &["broken.toml"],
        "[ops.linear]\n\"*\" = [{ call = \"open\", n = \"out\" }]\n",
    );
    assert_eq!(
        load_error(&m),
        format!(
            "error: {} (included by {}): functions.relu.steps[0]: formula \"q*n\" uses unknown \
             variable 'q' (known here: parties, ring, n)",
            dir.join("broken.toml").display(),
            m.display()
        )
    );
}
