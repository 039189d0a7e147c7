#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::sync::Arc;
use confidant_core::{DataCategory, Label};
use confidant_vault::*;
use rand_core::OsRng;
use secrecy::SecretString;

#[tokio::main]
async fn main() {
    let dir = std::path::PathBuf::from("/tmp/confidant-demo");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = confidant_store::connect(&format!("sqlite://{}/db", dir.display())).await.unwrap();
    let blobs = confidant_store::BlobStore::local(&dir.join("blobs")).unwrap();
    let vault = Vault::init(store, blobs, Arc::new(SystemClock), InitOptions {
        workspace_name: "Acme Bookkeeping".into(), owner_email: "owner@example.com".into(),
        owner_name: "Olive Owner".into(), owner_password: SecretString::from("correct horse battery staple"),
        unlock: Unlock::KeyFile(KeyFile::generate(&mut OsRng)), kdf: KdfParams::default() }).await.unwrap();
    let owner = vault.owner().await.unwrap();
    vault.add_document(&owner, "invoices/2026/Q3 invoices.pdf", Label::Confidential, &b"%PDF-1.4 demo"[..]).await.unwrap();
    vault.add_document(&owner, "Handbook.txt", Label::Internal, &vec![b'x'; 150_000][..]).await.unwrap();
    vault.add_document(&owner, "Payroll 2026 — restricted.xlsx", Label::Restricted, &vec![b'y'; 3_500_000][..]).await.unwrap();
    let mut csv = String::from("name,email,phone,card\n");
    for i in 0..230 { csv.push_str(&format!("Customer {i},c{i}@example.com,+1 555 010 {i:04},4111 1111 1111 {i:04}\n")); }
    vault.import_records(&owner, "customers", std::io::Cursor::new(csv.into_bytes()), ColumnMapping {
        categories: vec![("name".into(), DataCategory::Name), ("email".into(), DataCategory::Email), ("phone".into(), DataCategory::Phone), ("card".into(), DataCategory::CardNumber)],
        indexed: vec!["email".into()], rows_are_customers: true, contact_column: Some("email".into()), label: Label::Restricted }).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8099").await.unwrap();
    confidant_server::serve(listener, confidant_server::router(vault, Default::default()), async { tokio::signal::ctrl_c().await.ok(); }).await.unwrap();
}
