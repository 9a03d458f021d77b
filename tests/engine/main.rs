//! The engine library against recorded payloads and files, without a venue: market-channel
//! fixtures, signing vectors, the replay contract, hostile frames and the store's time index.

mod hostile_frames;
mod market_fixtures;
mod replay_contract;
mod signing_vectors;
mod storage_time_index;
