//! The synthetic takers' orders (`[model.takers]`) through the matching engine: price-time
//! priority against the house book and the clients' resting orders, as a taker with no
//! account. Resting orders it meets are filled and told so on the user channel (`trade` with
//! `trader_side: MAKER`, `order` UPDATE) exactly as when a client takes them; a taker that
//! meets only house liquidity leaves trade prints and nothing else.

use super::*;
use crate::model::takers::TakerOrder;
use crate::trading::matching::best_price;

impl TradingState {
    /// Sends synthetic taker `t` into the book: its limit is the best opposite price plus (a
    /// BUY) or minus (a SELL) `t.depth_ticks` ticks. Returns the micro-shares it got.
    pub fn synthetic_take(
        &mut self,
        books: &mut VenueBooks,
        buf: &mut EventBuf,
        t: &TakerOrder,
        now: &Now,
    ) -> u64 {
        let Some(m) = books.markets.get(t.market as usize) else {
            return 0;
        };
        if m.assets.len() != 2 || t.outcome > 1 {
            return 0;
        }
        let (asset, other) = (
            m.assets[t.outcome as usize],
            m.assets[1 - t.outcome as usize],
        );
        let tick = books.asset(asset).tick.micros();
        let mut spec = TakerSpec {
            market: t.market,
            asset,
            other,
            outcome: t.outcome,
            side: t.side,
            limit: match t.side {
                OrderSide::Buy => Price(1_000_000),
                OrderSide::Sell => Price::ZERO,
            },
            qty: t.shares,
            budget: None,
            order: None,
        };
        let mut touched = Touched::default();
        let mut ctx = Ctx {
            store: &mut self.store,
            accounts: &mut self.accounts,
            books,
            touched: &mut touched,
        };
        let Some(best) = best_price(&ctx, &spec, true) else {
            return 0;
        };
        let through = t.depth_ticks.saturating_mul(tick);
        spec.limit = match t.side {
            OrderSide::Buy => Price(best.0.saturating_add(through).min(1_000_000 - tick)),
            OrderSide::Sell => Price(best.0.saturating_sub(through).max(tick)),
        };
        let fills = execute(&mut ctx, &spec, true);
        let got: u64 = fills.iter().map(|f| f.shares).sum();
        if fills
            .iter()
            .any(|f| matches!(f.maker, Counterparty::User(_)))
        {
            let mut hash = [0u8; 32];
            rand::rng().fill_bytes(&mut hash);
            let taker = TakerParty {
                hash,
                seq: None,
                owner: SYNTHETIC_TAKER_OWNER.to_string(),
                address: Address::ZERO,
                key_owner: Address::ZERO,
            };
            self.record_trades(books, buf, &mut touched, &spec, &taker, &fills, now);
        } else {
            // House liquidity only: prints, one per price level, and nobody to tell.
            let mut i = 0;
            while i < fills.len() {
                let price = fills[i].price;
                let mut shares = 0;
                while i < fills.len() && fills[i].price == price {
                    shares += fills[i].shares;
                    i += 1;
                }
                buf.events.push(VenueEvent::LastTrade {
                    asset,
                    side: t.side.book_side(),
                    price,
                    size: Size(shares),
                    tx: self.salt ^ u64::from(price.0) ^ (u64::from(asset) << 32) ^ now.ms,
                });
                books.asset_mut(asset).last_trade = Some(price);
                books.asset_mut(other).last_trade = price.complement();
            }
        }
        publish_touched(books, buf, &touched, self.salt);
        got
    }
}
