//! The live type census: objgraph's `count` and `show_growth` for the worker core.
//!
//! Each counted type of the worker core holds one [`Tally`] field (`census: Tally<Self>`). A
//! tally is an 8-byte token: creating (or cloning) it adds one instance and the type's bytes to
//! the type's live counters, dropping it takes them away. The counters are per-type statics
//! ([`TypeSlot`]) registered on first use in a lock-free list; [`census_snapshot`] reads them
//! into [`TypeCount`]s. The cost per instance is one relaxed load and two relaxed atomic adds
//! on creation and on drop, so the census can stay on in every replay ([`set_enabled`] turns it
//! off for overhead measurements; tallies created while it is off are never counted).
//!
//! Bytes: a tally counts `size_of::<T>()` plus the payload given at creation
//! ([`Tally::with_bytes`]: page pixels, model weights, exported text); a type's other heap
//! bytes (strings, vectors of children that are counted types themselves) are not counted
//! twice. The owner walk ([`owners`]) gives the deep bytes along each owner chain.
//!
//! Which worker types are counted, and under which name, is declared by the worker core
//! itself (`crate::worker`, with [`censused!`]): this module knows no worker type.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::record::TypeCount;

pub mod owners;

/// The live counters of one counted type.
#[derive(Debug)]
pub struct TypeSlot {
    name: &'static str,
    live_count: AtomicI64,
    live_bytes: AtomicI64,
    created_total: AtomicU64,
    registered: AtomicBool,
    next: AtomicPtr<TypeSlot>,
}

impl TypeSlot {
    pub const fn new(name: &'static str) -> TypeSlot {
        TypeSlot {
            name,
            live_count: AtomicI64::new(0),
            live_bytes: AtomicI64::new(0),
            created_total: AtomicU64::new(0),
            registered: AtomicBool::new(false),
            next: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Instances alive now (never negative).
    pub fn live_count(&self) -> u64 {
        self.live_count.load(Ordering::Relaxed).max(0) as u64
    }

    pub fn live_bytes(&self) -> u64 {
        self.live_bytes.load(Ordering::Relaxed).max(0) as u64
    }

    /// Instances ever created while the census was on.
    pub fn created_total(&self) -> u64 {
        self.created_total.load(Ordering::Relaxed)
    }

    #[inline]
    fn add(&'static self, bytes: u64) {
        if !self.registered.load(Ordering::Relaxed) {
            self.register();
        }
        self.live_count.fetch_add(1, Ordering::Relaxed);
        self.live_bytes.fetch_add(bytes as i64, Ordering::Relaxed);
        self.created_total.fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    fn remove(&self, bytes: u64) {
        self.live_count.fetch_sub(1, Ordering::Relaxed);
        self.live_bytes.fetch_sub(bytes as i64, Ordering::Relaxed);
    }

    /// Push this slot on the registry list (once).
    #[cold]
    fn register(&'static self) {
        if self.registered.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self as *const TypeSlot as *mut TypeSlot;
        let mut head = REGISTRY.load(Ordering::Acquire);
        loop {
            self.next.store(head, Ordering::Relaxed);
            match REGISTRY.compare_exchange_weak(head, me, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }
}

/// Head of the list of registered slots (every slot is a `static`, so pointers stay valid).
static REGISTRY: AtomicPtr<TypeSlot> = AtomicPtr::new(std::ptr::null_mut());
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turn the census on or off for tallies created from now on (on by default).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Every registered slot (types with at least one instance created while the census was on).
pub fn registered_slots() -> Vec<&'static TypeSlot> {
    let mut out = Vec::new();
    let mut ptr = REGISTRY.load(Ordering::Acquire);
    while !ptr.is_null() {
        // SAFETY: only `&'static TypeSlot`s are ever pushed on the list (see `register`), and
        // they are never removed, so every non-null pointer on it refers to a live static.
        let slot: &'static TypeSlot = unsafe { &*ptr };
        out.push(slot);
        ptr = slot.next.load(Ordering::Acquire);
    }
    out
}

/// A type of the worker core whose live instances are counted.
pub trait Censused: 'static {
    /// The name the census reports (`PageImage`).
    const TYPE_NAME: &'static str;
    fn slot() -> &'static TypeSlot;
}

/// The census token: one field per counted type, `census: Tally<Self>`.
///
/// It compares equal to every other tally (so derived `PartialEq` ignores it), prints as
/// `Tally`, and is skipped by serde (`#[serde(skip)]` on the field; `Default` counts a new
/// instance).
pub struct Tally<T: Censused> {
    /// Bytes this instance counted, or [`NOT_COUNTED`].
    bytes: u64,
    _type: PhantomData<fn() -> T>,
}

/// Marks a tally created while the census was off.
const NOT_COUNTED: u64 = u64::MAX;

impl<T: Censused> Tally<T> {
    /// Count one instance of `T` of `size_of::<T>()` bytes.
    #[inline]
    pub fn new() -> Self {
        Self::with_bytes(0)
    }

    /// Count one instance of `T` holding `payload_bytes` on the heap besides itself.
    #[inline]
    pub fn with_bytes(payload_bytes: usize) -> Self {
        if !ENABLED.load(Ordering::Relaxed) {
            return Tally {
                bytes: NOT_COUNTED,
                _type: PhantomData,
            };
        }
        let bytes = (std::mem::size_of::<T>() as u64).saturating_add(payload_bytes as u64);
        let bytes = bytes.min(NOT_COUNTED - 1);
        T::slot().add(bytes);
        Tally {
            bytes,
            _type: PhantomData,
        }
    }

    /// Bytes this instance is counted for (0 when the census was off at its creation).
    pub fn counted_bytes(&self) -> u64 {
        if self.bytes == NOT_COUNTED {
            0
        } else {
            self.bytes
        }
    }
}

impl<T: Censused> Drop for Tally<T> {
    #[inline]
    fn drop(&mut self) {
        if self.bytes != NOT_COUNTED {
            T::slot().remove(self.bytes);
        }
    }
}

impl<T: Censused> Clone for Tally<T> {
    /// A clone is one more live instance of the same size.
    fn clone(&self) -> Self {
        match self.bytes {
            NOT_COUNTED => Tally::with_bytes(0),
            bytes => Tally::with_bytes((bytes as usize).saturating_sub(std::mem::size_of::<T>())),
        }
    }
}

impl<T: Censused> Default for Tally<T> {
    fn default() -> Self {
        Tally::new()
    }
}

impl<T: Censused> PartialEq for Tally<T> {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl<T: Censused> std::fmt::Debug for Tally<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tally")
    }
}

/// Live instances and bytes of every counted type that has had an instance, by name.
pub fn census_snapshot() -> Vec<TypeCount> {
    let mut out: Vec<TypeCount> = registered_slots()
        .into_iter()
        .map(|slot| TypeCount {
            type_name: slot.name().to_string(),
            live_count: slot.live_count(),
            live_bytes: Some(slot.live_bytes()),
        })
        .collect();
    out.sort_by(|a, b| a.type_name.cmp(&b.type_name));
    out
}

/// How one type changed between two censuses (objgraph's `show_growth`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeGrowth {
    pub type_name: String,
    pub live_count: u64,
    pub live_bytes: u64,
    pub count_delta: i64,
    pub bytes_delta: i64,
}

/// Per-type change from `before` to `after` (types missing on one side count as 0), the
/// types that changed only, largest count growth first.
pub fn type_growth(before: &[TypeCount], after: &[TypeCount]) -> Vec<TypeGrowth> {
    let mut names: Vec<&str> = before
        .iter()
        .chain(after)
        .map(|t| t.type_name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let find = |list: &[TypeCount], name: &str| {
        list.iter()
            .find(|t| t.type_name == name)
            .map_or((0, 0), |t| (t.live_count, t.live_bytes.unwrap_or(0)))
    };
    let mut out: Vec<TypeGrowth> = names
        .into_iter()
        .filter_map(|name| {
            let (c0, b0) = find(before, name);
            let (c1, b1) = find(after, name);
            let growth = TypeGrowth {
                type_name: name.to_string(),
                live_count: c1,
                live_bytes: b1,
                count_delta: c1 as i64 - c0 as i64,
                bytes_delta: b1 as i64 - b0 as i64,
            };
            (growth.count_delta != 0 || growth.bytes_delta != 0).then_some(growth)
        })
        .collect();
    out.sort_by(|a, b| {
        b.count_delta
            .cmp(&a.count_delta)
            .then(b.bytes_delta.cmp(&a.bytes_delta))
            .then(a.type_name.cmp(&b.type_name))
    });
    out
}

/// Declare counted types: `censused! { path::Type => "Name", ... }`.
#[macro_export]
macro_rules! censused {
    ($($ty:path => $name:literal),* $(,)?) => {
        $(
            impl $crate::census::Censused for $ty {
                const TYPE_NAME: &'static str = $name;
                fn slot() -> &'static $crate::census::TypeSlot {
                    static SLOT: $crate::census::TypeSlot =
                        $crate::census::TypeSlot::new($name);
                    &SLOT
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Default, PartialEq)]
    struct Probe {
        value: u32,
        census: Tally<Probe>,
    }
    censused! { Probe => "CensusTestProbe" }

    struct Payload {
        census: Tally<Payload>,
    }
    censused! { Payload => "CensusTestPayload" }

    fn count(name: &str) -> (u64, u64) {
        census_snapshot()
            .into_iter()
            .find(|t| t.type_name == name)
            .map_or((0, 0), |t| (t.live_count, t.live_bytes.unwrap_or(0)))
    }

    #[test]
    fn tallies_count_creation_clone_and_drop() {
        let size = std::mem::size_of::<Probe>() as u64;
        let a = Probe {
            value: 1,
            census: Tally::new(),
        };
        let b = a.clone();
        assert_eq!(a, b, "the tally does not change equality");
        let many: Vec<Probe> = (0..10).map(|_| Probe::default()).collect();
        assert_eq!(count("CensusTestProbe"), (12, 12 * size));
        drop(many);
        drop(a);
        assert_eq!(count("CensusTestProbe"), (1, size));
        drop(b);
        assert_eq!(count("CensusTestProbe"), (0, 0));
        assert_eq!(format!("{:?}", Probe::default().census), "Tally");
    }

    #[test]
    fn payload_bytes_are_counted_and_cloned() {
        let size = std::mem::size_of::<Payload>() as u64;
        let p = Payload {
            census: Tally::with_bytes(1000),
        };
        let q = p.census.clone();
        assert_eq!(count("CensusTestPayload"), (2, 2 * (size + 1000)));
        assert_eq!(q.counted_bytes(), size + 1000);
        drop((p, q));
        assert_eq!(count("CensusTestPayload"), (0, 0));
    }

    #[test]
    fn growth_lists_changed_types_largest_first() {
        let t = |name: &str, c: u64, b: u64| TypeCount {
            type_name: name.into(),
            live_count: c,
            live_bytes: Some(b),
        };
        let before = vec![t("A", 1, 10), t("B", 5, 50), t("C", 2, 20)];
        let after = vec![t("A", 1, 10), t("B", 9, 90), t("D", 1, 1)];
        let growth = type_growth(&before, &after);
        let names: Vec<(&str, i64)> = growth
            .iter()
            .map(|g| (g.type_name.as_str(), g.count_delta))
            .collect();
        assert_eq!(names, vec![("B", 4), ("D", 1), ("C", -2)]);
    }
}
