//! Sessions reached from Java through a `long` handle that cannot dangle: a slab of slots,
//! each with a generation bumped on removal. A handle names `(index, generation)`; a stale
//! or forged one finds nothing instead of freed memory.

use std::sync::{Arc, Mutex, PoisonError};

/// A handle as Java holds it. `0` is never issued (a Java field's default).
pub type Handle = u64;

struct Slot<T> {
    generation: u32,
    value: Option<Arc<T>>,
}

/// A generation-checked slab of shared values.
pub struct Registry<T> {
    slots: Mutex<Vec<Slot<T>>>,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Registry {
            slots: Mutex::new(Vec::new()),
        }
    }
}

fn split(h: Handle) -> (usize, u32) {
    // High 32 bits: generation (starting at 1), low 32 bits: index.
    let index = usize::try_from(h & 0xFFFF_FFFF).unwrap_or(usize::MAX);
    (index, u32::try_from(h >> 32).unwrap_or(0))
}

impl<T> Registry<T> {
    /// An empty registry (usable in a `static`).
    pub const fn new() -> Self {
        Registry {
            slots: Mutex::new(Vec::new()),
        }
    }

    /// Stores `value`; returns its handle (never 0).
    pub fn insert(&self, value: T) -> Handle {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let value = Some(Arc::new(value));
        let index = match slots.iter().position(|s| s.value.is_none()) {
            Some(i) => i,
            None => {
                slots.push(Slot {
                    generation: 1,
                    value: None,
                });
                slots.len() - 1
            }
        };
        let Some(slot) = slots.get_mut(index) else { return 0 };
        slot.value = value;
        (u64::from(slot.generation) << 32) | index as u64
    }

    /// The value under `h`, if `h` is current.
    pub fn get(&self, h: Handle) -> Option<Arc<T>> {
        let (index, generation) = split(h);
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .get(index)
            .filter(|s| s.generation == generation)
            .and_then(|s| s.value.clone())
    }

    /// Removes the value under `h`; later lookups of `h` find nothing.
    pub fn remove(&self, h: Handle) -> Option<Arc<T>> {
        let (index, generation) = split(h);
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.get_mut(index).filter(|s| s.generation == generation)?;
        let v = slot.value.take()?;
        // Generation 0 is never issued, so a wrapped counter skips it.
        slot.generation = slot.generation.wrapping_add(1).max(1);
        Some(v)
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|s| s.value.is_some())
            .count()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_handle_never_finds_the_slot_reused_after_it() {
        let r = Registry::new();
        let a = r.insert("a");
        assert_ne!(a, 0);
        assert_eq!(r.get(a).as_deref(), Some(&"a"));
        assert!(r.remove(a).is_some());
        let b = r.insert("b");
        assert_ne!(a, b);
        assert_eq!(r.get(a), None);
        assert_eq!(r.remove(a), None);
        assert_eq!(r.get(b).as_deref(), Some(&"b"));
        assert_eq!(r.get(0), None);
        assert_eq!(r.get(u64::MAX), None);
        assert_eq!(r.len(), 1);
    }
}
