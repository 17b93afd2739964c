//! `contacts-server deliveries list|retry|discard`: the operators' commands,
//! on the database a server may be using at the same time.

use std::fmt::Write as _;

use crate::ops::cli::DeliveriesCommand;
use crate::store::{Database, DeliveryFilter, DeliveryRecord, Selection};

/// Runs an operator's command on `db` and returns what to print.
pub async fn run(db: &Database, command: &DeliveriesCommand) -> Result<String, String> {
    let store = db.open_existing().await?;
    let operator = operator();
    match command {
        DeliveriesCommand::List {
            state,
            customer,
            limit,
        } => {
            let filter = DeliveryFilter {
                state: *state,
                customer: customer.clone(),
                limit: *limit,
            };
            let records = store.deliveries(filter).await.map_err(|e| e.to_string())?;
            let mut out = String::from(
                "ID\tTRACKING_ID\tTARGET\tCUSTOMER\tSTATE\tATTEMPTS\tACCEPTED_AT\tLAST_ERROR\n",
            );
            for record in &records {
                line(&mut out, record);
            }
            if records.len() == *limit {
                let _ = writeln!(out, "(the first {limit}; --limit shows more)");
            }
            Ok(out)
        }
        DeliveriesCommand::Retry { id, .. } => {
            let selection = id.map_or(Selection::AllDead, Selection::One);
            let retried = store
                .retry(selection, operator)
                .await
                .map_err(|e| e.to_string())?;
            match selection {
                Selection::One(id) if retried == 0 => {
                    Err(format!("no dead or pending delivery has the id {id}"))
                }
                Selection::One(id) => Ok(format!("delivery {id} will be sent again\n")),
                Selection::AllDead => Ok(format!("{retried} dead deliveries will be sent again\n")),
            }
        }
        DeliveriesCommand::Discard { id } => {
            if store
                .discard(*id, operator)
                .await
                .map_err(|e| e.to_string())?
            {
                Ok(format!("delivery {id} discarded\n"))
            } else {
                Err(format!("no dead or pending delivery has the id {id}"))
            }
        }
    }
}

/// Who runs the command, for the audit trail.
fn operator() -> String {
    ["USER", "LOGNAME"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "operator".to_owned())
}

/// One delivery on one line. The error is the target's own text: it is
/// escaped so that it can neither break the line nor drive the terminal.
fn line(out: &mut String, record: &DeliveryRecord) {
    let error = record.last_error.as_deref().unwrap_or("-");
    let _ = writeln!(
        out,
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        record.id,
        record.tracking_id,
        record.target,
        record.ezpay_id,
        record.state,
        record.attempts,
        record.accepted_at,
        error.escape_debug()
    );
}
