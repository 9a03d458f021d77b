//! `polyarb demo --live`: paper trading on the in-process venue with the real order path.
//!
//! A fresh key gets its API key from the venue, which opens and funds the key's deposit
//! wallet; the paper account trades as that wallet (signature type 3, production's account
//! for new API users). Each asset of the demo becomes an instrument with the rules the venue
//! publishes on `GET /book`, and the engine's live desk (`polyarb::cli::paper`) hands each
//! Dutch book to the live sender. Nothing here is simulated on our side: what the summary
//! prints comes from the order manager and from the venue's ledger of the wallet, and says
//! whether the two agree.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use polyarb::adapters::polymarket::http::clob::{ClobClient, ClobConfig, create_or_derive_api_key};
use polyarb::adapters::polymarket::signing::protocol::POLYGON;
use polyarb::adapters::polymarket::signing::{ApiCredentials, PrivateKey, SignatureType};
use polyarb::cli::paper::{DeskSetup, LiveDesk, TIMEOUT, fresh_file, open_desk};
use polyarb::core::AssetRegistry;
use polyarb::core::fees::FeeSchedule;
use polyarb::engine::DispatchMode;
use polyarb::exec::live::Instrument;
use polyarb::exec::pairing::PairingConfig;
use polyarb::exec::risk_link::AssetPlace;
use polyarb::risk::RiskConfig;

use crate::{VenueHandle, deposit_wallet_address};

/// A fresh account on `venue`: a random key whose first API key makes and funds its deposit
/// wallet, and a CLOB client trading as that wallet.
pub fn account(venue: &VenueHandle) -> anyhow::Result<(Arc<ClobClient>, ApiCredentials)> {
    let key = PrivateKey::from_hex(&format!("0x{}", hex::encode(rand::random::<[u8; 32]>())))
        .context("paper key")?;
    let url = venue.http_url();
    let creds = create_or_derive_api_key(&url, &key, POLYGON, 0, TIMEOUT)
        .context("creating the paper account's API key")?;
    // The first API key made the owner's deposit wallet and funded it: the account trades as
    // the wallet, with the key signing for it, as production wants of a new API user.
    let mut cc = ClobConfig::new(&url);
    cc.chain_id = POLYGON;
    cc.signature_type = SignatureType::Poly1271;
    cc.funder = Some(deposit_wallet_address(key.address()));
    let client = Arc::new(
        ClobClient::connect(cc, key, creds.clone()).context("connecting the CLOB client")?,
    );
    Ok((client, creds))
}

/// Opens a paper account on `venue` and makes the live dispatch for `registry`'s assets;
/// `fees` is the taker fee schedule the venue charges on its synthetic markets; orders are
/// journaled in a fresh SQLite file at `journal`; `risk` is `[risk]` and each asset's market
/// and event.
pub fn open(
    venue: &VenueHandle,
    registry: &AssetRegistry,
    fees: Option<FeeSchedule>,
    journal: &Path,
    risk: (RiskConfig, Vec<AssetPlace>),
) -> anyhow::Result<(DispatchMode, LiveDesk)> {
    let (client, creds) = account(venue)?;
    let url = venue.http_url();
    let mut instruments = Vec::with_capacity(registry.len());
    for (_, info) in registry.iter() {
        let rules = polyarb::cli::trade::rules(&url, &info.token, TIMEOUT)
            .with_context(|| format!("rules of {}", info.token_str))?;
        instruments.push(Some(Instrument {
            token_id: info.token,
            rules,
            fees,
        }));
    }
    fresh_file(journal)?;
    open_desk(DeskSetup {
        label: "paper account",
        client,
        creds,
        user_ws_url: &venue.user_ws_url(),
        instruments,
        journal,
        pairing: PairingConfig::default(),
        no_side: true,
        ledger_url: Some(url),
        risk: risk.0,
        places: risk.1,
    })
}
