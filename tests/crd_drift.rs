//! The committed CRD YAML (crds/ and the chart's copies) must be exactly what `dti-operator crd` writes,
//! file for file, with no stale extra file left behind.

use std::collections::BTreeMap;
use std::path::Path;

fn committed(dir: &str) -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let name = path.file_name().expect("file name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("read CRD file"))
        })
        .collect()
}

fn assert_current(dir: &str) {
    let generated: BTreeMap<String, String> =
        dti_operator::crd::crd_files().expect("render CRDs").into_iter().collect();
    let on_disk = committed(dir);
    assert_eq!(
        on_disk.keys().collect::<Vec<_>>(),
        generated.keys().collect::<Vec<_>>(),
        "{dir} holds other files than the CRDs: run `cargo run -- crd --dir {dir}`"
    );
    for (name, yaml) in &generated {
        assert!(on_disk[name] == *yaml, "{dir}/{name} is stale: run `cargo run -- crd --dir {dir}`");
    }
}

#[test]
fn committed_crds_match_the_rust_types() {
    assert_current("crds");
}

#[test]
fn the_charts_crds_match_the_rust_types() {
    assert_current("charts/dti-operator/files");
}
