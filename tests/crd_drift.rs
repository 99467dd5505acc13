//! The committed CRD YAML must be exactly what `dti-operator crd` prints.

#[test]
fn committed_crd_matches_the_rust_types() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crds/oktaintegration.yaml");
    let committed = std::fs::read_to_string(&path).expect("crds/oktaintegration.yaml");
    let generated = dti_operator::crd::crd_yaml().expect("render CRD");
    assert!(
        committed == generated,
        "crds/oktaintegration.yaml is stale: run `cargo run -- crd > crds/oktaintegration.yaml`"
    );
}
