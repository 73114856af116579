//! The Python client's pytest suite (`client/python/tests`), run against the freshly built
//! daemon. The suite starts its own daemons and local HTTP/HTTPS origins; this test gives it
//! the binary and a certificate for 127.0.0.1, so HTTPS is covered even where the `openssl`
//! command is missing.

use std::path::Path;
use std::process::Command;

use hinet_tests::{TempDir, TestCert};

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

#[test]
fn python_client_pytest_suite() {
    let repo = Path::new(REPO);
    let package = repo.join("client/python");

    let cert = TestCert::localhost();
    let keys = TempDir::new("hinet-py-tls");
    let key_file = keys.path().join("key.pem");
    std::fs::write(&key_file, &cert.key_pem).expect("write the test key");

    // The package is imported from its source directory (no install step needed).
    let python_path = match std::env::var_os("PYTHONPATH") {
        Some(existing) if !existing.is_empty() => {
            let mut joined = package.clone().into_os_string();
            joined.push(":");
            joined.push(existing);
            joined
        }
        _ => package.clone().into_os_string(),
    };

    let out = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(package.join("tests"))
        .current_dir(repo)
        .env("HINETD_BIN", HINETD)
        .env("PYTHONPATH", python_path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("HINET_TEST_TLS_CERT", &cert.ca_file)
        .env("HINET_TEST_TLS_KEY", &key_file)
        .output()
        .expect("python3 runs (.ci/run installs python3 and pytest)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pytest client/python/tests failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // Every test ran: none was skipped for want of a certificate or the binary.
    assert!(
        !stdout.contains("skipped"),
        "some Python client tests were skipped:\n{stdout}"
    );
}
