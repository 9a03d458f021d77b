//! Account balances: pUSD collateral and outcome tokens per address, in micro-units, with the
//! part held back by resting orders.
//!
//! An order is accepted only if what it gives (pUSD for a BUY, tokens for a SELL) is free; it
//! then holds that much until it fills, is canceled or expires. Fills move balances at match
//! time (the venue's own view: on Polymarket the chain settles later, which the trade statuses
//! MATCHED → MINED → CONFIRMED report; a FAILED trade is rolled back here).

use rustc_hash::FxHashMap;
use serde::Serialize;

use polyarb::adapters::polymarket::signing::Address;

/// What an asset of an account is: collateral, or one outcome token (venue asset index), or
/// USDC.e (what pUSD wraps; only the relayer's wrap and unwrap move it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Holding {
    Collateral,
    Token(u32),
    Usdce,
}

/// A settlement that needs more of a holding than is free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("insufficient {holding:?}: needs {needed}, {free} free")]
pub struct Shortfall {
    pub holding: Holding,
    pub needed: u64,
    pub free: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub total: u64,
    /// Held by resting orders.
    pub reserved: u64,
}

impl Balance {
    pub fn free(&self) -> u64 {
        self.total.saturating_sub(self.reserved)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Account {
    holdings: FxHashMap<Holding, Balance>,
}

impl Account {
    pub fn balance(&self, h: Holding) -> Balance {
        self.holdings.get(&h).copied().unwrap_or_default()
    }

    fn entry(&mut self, h: Holding) -> &mut Balance {
        self.holdings.entry(h).or_default()
    }
}

/// Every account the venue knows.
#[derive(Clone, Default)]
pub struct Accounts {
    accounts: FxHashMap<Address, Account>,
}

impl Accounts {
    pub fn get(&self, a: &Address) -> Option<&Account> {
        self.accounts.get(a)
    }

    pub fn balance(&self, a: &Address, h: Holding) -> Balance {
        self.accounts
            .get(a)
            .map(|acc| acc.balance(h))
            .unwrap_or_default()
    }

    /// Creates the account with `initial` pUSD if it does not exist yet.
    pub fn open(&mut self, a: Address, initial: u64) {
        self.accounts.entry(a).or_insert_with(|| {
            let mut acc = Account::default();
            acc.entry(Holding::Collateral).total = initial;
            acc
        });
    }

    /// Adds to a balance (admin funding, fills received).
    pub fn credit(&mut self, a: Address, h: Holding, amount: u64) {
        let b = self.accounts.entry(a).or_default().entry(h);
        b.total = b.total.saturating_add(amount);
    }

    /// Removes from a balance and from what is reserved for it (a fill paid by an order).
    pub fn debit_reserved(&mut self, a: Address, h: Holding, amount: u64) {
        let b = self.accounts.entry(a).or_default().entry(h);
        b.total = b.total.saturating_sub(amount);
        b.reserved = b.reserved.saturating_sub(amount);
    }

    /// Removes from the free balance (rolling back a credit).
    pub fn debit_free(&mut self, a: Address, h: Holding, amount: u64) {
        let b = self.accounts.entry(a).or_default().entry(h);
        b.total = b.total.saturating_sub(amount);
    }

    /// Holds `amount` back for an order, if that much is free.
    pub fn reserve(&mut self, a: Address, h: Holding, amount: u64) -> bool {
        let b = self.accounts.entry(a).or_default().entry(h);
        if b.free() < amount {
            return false;
        }
        b.reserved += amount;
        true
    }

    /// Settles on chain (split, merge, convert, redeem, wrap): takes every debit from the free
    /// balances and adds every credit, or, when a debit is not covered, changes nothing.
    pub fn settle(
        &mut self,
        a: Address,
        debits: &[(Holding, u64)],
        credits: &[(Holding, u64)],
    ) -> Result<(), Shortfall> {
        let mut need: FxHashMap<Holding, u64> = FxHashMap::default();
        for &(h, n) in debits {
            let e = need.entry(h).or_default();
            *e = e.saturating_add(n);
        }
        for (&h, &needed) in &need {
            let free = self.balance(&a, h).free();
            if free < needed {
                return Err(Shortfall {
                    holding: h,
                    needed,
                    free,
                });
            }
        }
        let acc = self.accounts.entry(a).or_default();
        for (h, n) in need {
            acc.entry(h).total -= n;
        }
        for &(h, n) in credits {
            let b = acc.entry(h);
            b.total = b.total.saturating_add(n);
        }
        Ok(())
    }

    pub fn release(&mut self, a: Address, h: Holding, amount: u64) {
        let b = self.accounts.entry(a).or_default().entry(h);
        b.reserved = b.reserved.saturating_sub(amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_debit_release() {
        let a = Address([1; 20]);
        let mut acc = Accounts::default();
        acc.open(a, 10);
        acc.open(a, 99);
        assert_eq!(acc.balance(&a, Holding::Collateral).total, 10);
        assert!(acc.reserve(a, Holding::Collateral, 8));
        assert!(!acc.reserve(a, Holding::Collateral, 3));
        acc.debit_reserved(a, Holding::Collateral, 5);
        acc.release(a, Holding::Collateral, 3);
        assert_eq!(
            acc.balance(&a, Holding::Collateral),
            Balance {
                total: 5,
                reserved: 0
            }
        );
        acc.credit(a, Holding::Token(3), 7);
        assert_eq!(acc.balance(&a, Holding::Token(3)).free(), 7);
    }
}
