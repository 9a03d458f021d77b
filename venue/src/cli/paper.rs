//! `polyarb demo --live`: paper trading on the in-process venue with the real order path.
//!
//! A fresh key gets its API key from the venue, which opens and funds the key's deposit
//! wallet; the paper account trades as that wallet (signature type 3, production's account
//! for new API users). Each asset of the demo becomes an instrument with the rules the venue
//! publishes on `GET /book`, and the engine's live desk (`polyarb::cli::paper`) hands each
//! Dutch book to the live sender. Nothing here is simulated on our side: what the summary
//! prints comes from the order manager and from the venue's ledger of the wallet, and says
//! whether the two agree.
//!
//! With `[chain.recycle] enabled`, the complete sets the plans fill are merged or converted
//! back into pUSD through the venue's relayer (`POST /submit` for the deposit wallet, signed by
//! the paper key), so the account keeps trading with what its Dutch books paid.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use polyarb::adapters::polymarket::http::clob::{ClobClient, ClobConfig, create_or_derive_api_key};
use polyarb::adapters::polymarket::signing::protocol::POLYGON;
use polyarb::adapters::polymarket::signing::{ApiCredentials, PrivateKey, SignatureType};
use polyarb::cli::paper::{
    DeskSetup, LiveDesk, RecycleSetup, TIMEOUT, fresh_file, open_desk, recycle_journal_path,
};
use polyarb::core::AssetRegistry;
use polyarb::core::fees::FeeSchedule;
use polyarb::engine::DispatchMode;
use polyarb::exec::instruments::SettleInfo;
use polyarb::exec::live::Instrument;
use polyarb::exec::pairing::PairingConfig;
use polyarb::exec::risk_link::AssetPlace;
use polyarb::risk::RiskConfig;

use crate::{VenueHandle, deposit_wallet_address};

/// A fresh account on `venue`: a random key whose first API key makes and funds its deposit
/// wallet, a CLOB client trading as that wallet, and the key (the wallet's owner).
pub fn account(
    venue: &VenueHandle,
) -> anyhow::Result<(Arc<ClobClient>, ApiCredentials, PrivateKey)> {
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
        ClobClient::connect(cc, key.clone(), creds.clone())
            .context("connecting the CLOB client")?,
    );
    Ok((client, creds, key))
}

/// Opens a paper account on `venue` and makes the live dispatch for `registry`'s assets;
/// `fees` is the taker fee schedule the venue charges on its synthetic markets; orders are
/// journaled in a fresh SQLite file at `journal`; `risk` is `[risk]` and each asset's market
/// and event; `chain` is `[chain]`, whose `recycle` section turns filled sets back into pUSD.
pub fn open(
    venue: &VenueHandle,
    registry: &AssetRegistry,
    fees: Option<FeeSchedule>,
    journal: &Path,
    risk: (RiskConfig, Vec<AssetPlace>),
    chain: Option<&polyarb::chain::ChainConfig>,
) -> anyhow::Result<(DispatchMode, LiveDesk)> {
    let (client, creds, key) = account(venue)?;
    let url = venue.http_url();
    // Each token's place on chain, as the venue's Gamma lists it (the recycler's input).
    let mut settle = std::collections::HashMap::new();
    for m in venue.markets() {
        let nr = match (&m.neg_risk_market_id, &m.question_id) {
            (Some(n), Some(q)) if m.neg_risk => Some((n.as_str(), q.as_str())),
            _ => None,
        };
        for (k, t) in m.token_ids.iter().enumerate() {
            if let Some(s) = SettleInfo::from_gamma(&m.condition_id, k, nr) {
                settle.insert(t.clone(), s);
            }
        }
    }
    let mut instruments = Vec::with_capacity(registry.len());
    for (_, info) in registry.iter() {
        let rules = polyarb::cli::trade::rules(&url, &info.token, TIMEOUT)
            .with_context(|| format!("rules of {}", info.token_str))?;
        instruments.push(Some(Instrument {
            token_id: info.token,
            rules,
            fees,
            settle: settle.get(&*info.token_str).copied(),
        }));
    }
    fresh_file(journal)?;
    // The paper account is the key's deposit wallet: its sets go through the venue's relayer,
    // which checks that authentication headers are present.
    let recycle = match chain.filter(|c| c.recycle.enabled) {
        Some(c) => {
            let mut c = c.clone();
            c.account = polyarb::settlement::AccountType::DepositWallet;
            c.relayer.url = url.clone();
            c.relayer.wallet = Some(alloy_primitives::Address::from(
                deposit_wallet_address(key.address()).0,
            ));
            c.relayer.poll_interval_ms = c.relayer.poll_interval_ms.min(50);
            fresh_file(&recycle_journal_path(&c, journal))?;
            Some(RecycleSetup {
                chain: c,
                key: key.clone(),
                auth: Some(polyarb::settlement::RelayerAuth::RelayerKey {
                    key: "paper".into(),
                    address: alloy_primitives::Address::from(key.address().0),
                }),
            })
        }
        None => None,
    };
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
        recycle,
    })
}
