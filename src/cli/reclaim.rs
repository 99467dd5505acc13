//! `kubectl dti reclaim NAME [--app LABEL]`: the seats to reclaim user by user, from the per-user list
//! the operator keeps in a Secret when an integration opts in (spec.reclaim.userList). The caller's own
//! RBAC decides: whoever may not read that Secret is told so and why. What is read is untrusted: the
//! Secret must be owned by the integration, decompresses to at most 64 MiB, must carry the list's
//! header, and every cell is cleaned before it reaches the terminal.

use std::io::Read;
use std::process::ExitCode;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};

use crate::crd::{OktaIntegration, USER_LIST_KEY};
use crate::discovery::PER_USER_HEADER;
use crate::text::{clean, csv_cell};

const MAX_CSV_BYTES: u64 = 64 << 20;
const REASONS: [&str; 3] = ["leaver", "neverUsed", "inactive"];

/// How `reclaim` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ListFormat {
    Table,
    Csv,
}

/// What `reclaim` was asked for.
#[derive(clap::Args, Debug)]
pub(crate) struct ReclaimArgs {
    name: String,
    /// Only this app (its exact label).
    #[arg(long, value_name = "LABEL")]
    app: Option<String>,
    /// Every row the list holds, not only seats to reclaim (when spec.reclaim.userList.rows is All).
    #[arg(long)]
    all: bool,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

/// One row of the list, by column.
struct Row(Vec<String>);

impl Row {
    fn get(&self, column: &str) -> &str {
        let i = PER_USER_HEADER.trim_end().split(',').position(|c| c == column);
        i.and_then(|i| self.0.get(i)).map_or("", String::as_str)
    }
}

pub(crate) async fn run(client: &kube::Client, namespace: &str, args: ReclaimArgs) -> Result<ExitCode, String> {
    let who = format!("{namespace}/{}", args.name);
    let integrations: Api<OktaIntegration> = Api::namespaced(client.clone(), namespace);
    let obj = integrations.get(&args.name).await.map_err(|e| match &e {
        kube::Error::Api(s) if s.code == 404 => format!("there is no OktaIntegration {who}"),
        kube::Error::Api(s) if s.code == 403 => format!("you may not read OktaIntegration {who}"),
        _ => format!("cannot read OktaIntegration {who}: {e}"),
    })?;
    let Some(list) = obj.spec.reclaim.user_list.as_ref() else {
        return Err(format!(
            "{who} keeps no per-user list: it is opt-in (spec.reclaim.userList.secretName) because it names users; without it, `dti-operator sync --per-user FILE` writes the same list outside the cluster"
        ));
    };
    let secret = read_secret(client, namespace, &list.secret_name, &obj).await?;
    let rows = parse(&secret, namespace, &list.secret_name)?;
    let chosen: Vec<&Row> = rows
        .iter()
        .filter(|r| args.all || REASONS.contains(&r.get("reason")))
        .filter(|r| args.app.as_deref().is_none_or(|a| r.get("appLabel") == a))
        .collect();
    match args.format {
        ListFormat::Csv => print_csv(&chosen),
        ListFormat::Table => print_table(&chosen, &obj, &secret),
    }
    Ok(ExitCode::SUCCESS)
}

/// The list's Secret, if the caller may read it and the integration owns it.
async fn read_secret(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    obj: &OktaIntegration,
) -> Result<Secret, String> {
    let at = format!("{namespace}/{}", clean(name, 253));
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = secrets.get(name).await.map_err(|e| match &e {
        kube::Error::Api(s) if s.code == 403 => format!(
            "you may not read Secret {at}, which holds the per-user list: it names users, so it is guarded like the Okta credentials; ask for get on secrets in namespace {namespace}"
        ),
        kube::Error::Api(s) if s.code == 404 => format!(
            "Secret {at} does not exist yet: the operator writes it after the next successful sync (see status.reclaimUserList, and events with reason UserListFailed)"
        ),
        _ => format!("cannot read Secret {at}: {e}"),
    })?;
    let uid = obj.uid().unwrap_or_default();
    if !secret.owner_references().iter().any(|o| o.uid == uid) {
        return Err(format!(
            "Secret {at} is not the operator's list for {}: the integration does not own it",
            obj.name_any()
        ));
    }
    Ok(secret)
}

/// The rows of the Secret's list; an error says what is wrong with it.
fn parse(secret: &Secret, namespace: &str, name: &str) -> Result<Vec<Row>, String> {
    let bad =
        |why: &str| format!("Secret {namespace}/{} does not hold a list this version reads: {why}", clean(name, 253));
    let gz = secret
        .data
        .as_ref()
        .and_then(|d| d.get(USER_LIST_KEY))
        .ok_or_else(|| bad(&format!("no key {USER_LIST_KEY}")))?;
    let mut text = String::new();
    let mut inflated = flate2::read::GzDecoder::new(&gz.0[..]).take(MAX_CSV_BYTES + 1);
    inflated.read_to_string(&mut text).map_err(|e| bad(&format!("not gzip'd UTF-8 ({e})")))?;
    if text.len() as u64 > MAX_CSV_BYTES {
        return Err(bad("it decompresses to more than 64 MiB"));
    }
    if !text.starts_with(PER_USER_HEADER) {
        return Err(bad("its header is not the per-user list's"));
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.map(|r| Row(r.iter().map(str::to_string).collect())).map_err(|e| bad(&e.to_string())))
        .collect()
}

fn print_csv(rows: &[&Row]) {
    print!("{PER_USER_HEADER}");
    for r in rows {
        let cells: Vec<String> = r.0.iter().map(|c| csv_cell(&clean(c, 1024))).collect();
        println!("{}", cells.join(","));
    }
}

fn cell(text: &str, width: usize) -> String {
    super::output::cell_of(text, width)
}

fn print_table(rows: &[&Row], obj: &OktaIntegration, secret: &Secret) {
    println!(
        "{:<30} {:<36} {:<9} {:>9} {:<10} {:<6} {:<13}",
        "APP", "USER", "REASON", "DAYS IDLE", "ASSIGNED", "GRANT", "USER STATUS"
    );
    for r in rows {
        let user = if r.get("login").is_empty() { r.get("userId") } else { r.get("login") };
        let days = match r.get("daysSinceLastSignIn") {
            "" => "never",
            d => d,
        };
        println!(
            "{:<30} {:<36} {:<9} {:>9} {:<10} {:<6} {:<13}",
            cell(r.get("appLabel"), 30),
            cell(user, 36),
            cell(r.get("reason"), 9),
            cell(days, 9),
            cell(r.get("assigned").get(..10).unwrap_or(""), 10),
            cell(r.get("grant"), 6),
            cell(r.get("userStatus"), 13),
        );
    }
    println!("{}", footer(rows, obj, secret));
}

/// The seats shown by reason and grant, how fresh the list is, and whether it was cut short.
fn footer(rows: &[&Row], obj: &OktaIntegration, secret: &Secret) -> String {
    let count = |column: &str, value: &str| rows.iter().filter(|r| r.get(column) == value).count();
    let mut out = format!(
        "{} seat(s): {} leaver(s), {} never used, {} inactive; {} direct, {} through a group",
        rows.len(),
        count("reason", "leaver"),
        count("reason", "neverUsed"),
        count("reason", "inactive"),
        count("grant", "direct"),
        count("grant", "group"),
    );
    if let Some(at) = secret.annotations().get("dti.dev/updated-at") {
        out.push_str(&format!(" · list of {}", clean(at, 40)));
    }
    let status = obj.status.as_ref().and_then(|s| s.reclaim_user_list.as_ref());
    if let Some(s) = status.filter(|s| s.truncated) {
        out.push_str(&format!(
            "\ntruncated: the list holds {} of {} rows (spec.reclaim.userList.maxRows, or 900 KiB compressed); `dti-operator sync --per-user FILE` writes them all",
            s.rows, s.total_rows
        ));
    }
    out
}
