//! Snapshots of the command's help and key outputs: the trycmd cases in `tests/cmd/`. Each case
//! (`NAME.toml`) runs `tigress` with its arguments and compares the exit code, stdout and stderr
//! with `NAME.stdout` and `NAME.stderr` beside it; `NAME.in/` holds the files it reads. After a
//! deliberate change of output, `TRYCMD=overwrite cargo nextest run -p tigress-cli snapshots`
//! rewrites the snapshots, to be read in the diff before committing.

use std::path::Path;

#[test]
fn cli_snapshots() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cmd");
    // Like `support::tigress`, every case clears the environment, so that a developer's
    // TIGRESS_* variables (or COLUMNS) cannot change what it prints.
    for entry in std::fs::read_dir(&cases).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        let case: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let inherit = case.get("env").and_then(|env| env.get("inherit"));
        assert_eq!(inherit, Some(&toml::Value::Boolean(false)), "{}", path.display());
    }
    trycmd::TestCases::new()
        .default_bin_path(env!("CARGO_BIN_EXE_tigress"))
        .case("tests/cmd/*.toml");
}
