//! Patched (see vendor/README.md): a crash keeps every committed batch when
//! memtables rotate (with one writer or several), a batch larger than a
//! memtable commits, a WAL segment larger than the memtable replays whole,
//! and an iterator over a block reads the block's bytes without copying them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tempdir::TempDir;

use crate::transaction::Durability;
use crate::{Options, Tree};

fn options(path: PathBuf, memtable: usize) -> Arc<Options> {
	Arc::new(Options {
		path,
		max_memtable_size: memtable,
		..Default::default()
	})
}

/// Ends the tree as a crash would: writes and background work stopped, its
/// lock let go, and nothing flushed or closed (`Drop` would close it).
async fn crash(tree: Tree) {
	tree.core.commit_pipeline.shutdown();
	let task_manager = tree.core.task_manager.lock().unwrap().take();
	if let Some(task_manager) = task_manager {
		task_manager.stop().await;
	}
	tree.core.inner.lockfile.lock().unwrap().release().unwrap();
	std::mem::forget(tree);
}

/// Commits `keys`, synced, as a caller told "committed" relies on.
async fn commit(tree: &Tree, keys: std::ops::Range<u32>, value: &[u8]) {
	let mut txn = tree.begin().unwrap();
	txn.set_durability(Durability::Immediate);
	for k in keys {
		txn.set(format!("key{k:08}").as_bytes(), value).unwrap();
	}
	txn.commit().await.unwrap();
}

/// The keys in `keys` that the tree does not hold.
fn missing(tree: &Tree, keys: std::ops::Range<u32>) -> Vec<u32> {
	let txn = tree.begin().unwrap();
	keys.filter(|k| txn.get(format!("key{k:08}").as_bytes()).unwrap().is_none()).collect()
}

/// Waits until the background flush has written every immutable memtable.
async fn flushed(tree: &Tree) {
	for _ in 0..500 {
		if tree.core.inner.immutable_memtables.read().unwrap().is_empty() {
			return;
		}
		tokio::time::sleep(Duration::from_millis(10)).await;
	}
	panic!("immutable memtables were not flushed within 5 s");
}

/// Upstream put the batch that found the memtable full into the next memtable
/// while its record stayed in the previous WAL segment, deleted once the
/// previous memtable was flushed: a crash then lost it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_rotations_keeps_every_committed_batch() {
	let dir = TempDir::new("patched").unwrap();
	let opts = options(dir.path().to_path_buf(), 64 * 1024);
	let value = vec![7u8; 500];
	{
		let tree = Tree::new(Arc::clone(&opts)).unwrap();
		let log_number = tree.core.inner.level_manifest.read().unwrap().get_log_number();
		for t in 0..100 {
			commit(&tree, t * 10..t * 10 + 10, &value).await;
		}
		flushed(&tree).await;
		let now = tree.core.inner.level_manifest.read().unwrap().get_log_number();
		assert!(now > log_number, "memtables were flushed and WAL segments retired");
		crash(tree).await;
	}
	let tree = Tree::new(Arc::clone(&opts)).unwrap();
	assert_eq!(missing(&tree, 0..1000), Vec::<u32>::new());
	tree.close().await.unwrap();
}

/// The same with commits from several tasks at once: upstream also lost
/// batches that other commits had logged in the old segment and applied
/// after the rotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_after_rotations_under_concurrent_commits_keeps_every_batch() {
	let dir = TempDir::new("patched").unwrap();
	let opts = options(dir.path().to_path_buf(), 64 * 1024);
	{
		let tree = Arc::new(Tree::new(Arc::clone(&opts)).unwrap());
		let writers: Vec<_> = (0..8u32)
			.map(|w| {
				let tree = Arc::clone(&tree);
				tokio::spawn(async move {
					let value = vec![7u8; 500];
					for t in 0..25u32 {
						let first = (w * 25 + t) * 5;
						commit(&tree, first..first + 5, &value).await;
					}
				})
			})
			.collect();
		for writer in writers {
			writer.await.unwrap();
		}
		flushed(&tree).await;
		let tree = Arc::into_inner(tree).expect("writers are done");
		crash(tree).await;
	}
	let tree = Tree::new(Arc::clone(&opts)).unwrap();
	assert_eq!(missing(&tree, 0..1000), Vec::<u32>::new());
	tree.close().await.unwrap();
}

/// Upstream refused a batch larger than an empty memtable (after writing it to
/// the WAL); here it gets a memtable of its size, and survives a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_larger_than_a_memtable_commits_and_survives_a_crash() {
	let dir = TempDir::new("patched").unwrap();
	let opts = options(dir.path().to_path_buf(), 64 * 1024);
	let value = vec![7u8; 1000];
	{
		let tree = Tree::new(Arc::clone(&opts)).unwrap();
		commit(&tree, 0..10, &value).await;
		commit(&tree, 10..1010, &value).await; // about 1 MB in one batch
		commit(&tree, 1010..1020, &value).await;
		crash(tree).await;
	}
	let tree = Tree::new(Arc::clone(&opts)).unwrap();
	assert_eq!(missing(&tree, 0..1020), Vec::<u32>::new());
	tree.close().await.unwrap();
}

/// A segment written with a larger memtable is replayed into one memtable.
/// Upstream split it and flushed the first part during recovery, which marked
/// the segment flushed while its rest, and everything appended to it after the
/// open, was in memory only: the next crash lost them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_larger_than_the_memtable_replays_whole() {
	let dir = TempDir::new("patched").unwrap();
	let path = dir.path().to_path_buf();
	let value = vec![7u8; 1000];
	{
		let tree = Tree::new(options(path.clone(), 4 << 20)).unwrap();
		for t in 0..80 {
			commit(&tree, t * 10..t * 10 + 10, &value).await;
		}
		crash(tree).await;
	}
	let small = options(path, 64 * 1024);
	{
		let tree = Tree::new(Arc::clone(&small)).unwrap();
		assert_eq!(missing(&tree, 0..800), Vec::<u32>::new());
		commit(&tree, 800..810, &value).await;
		crash(tree).await;
	}
	let tree = Tree::new(small).unwrap();
	assert_eq!(missing(&tree, 0..810), Vec::<u32>::new());
	tree.close().await.unwrap();
}

/// Every point read and range scan of a table makes an iterator over a
/// cached block (64 KiB by default); each iterator copied the whole block.
/// Now they share it, and an iterator outlives its block handle.
#[test]
fn block_iterators_share_the_block_bytes() {
	use crate::sstable::block::{Block, BlockWriter};
	use crate::{InternalKey, InternalKeyKind, LSMIterator};

	let o = Options::default();
	let mut writer = BlockWriter::new(
		o.block_size,
		o.block_restart_interval,
		Arc::clone(&o.internal_comparator),
	);
	let keys: Vec<Vec<u8>> = (0..500).map(|i| format!("key{i:05}").into_bytes()).collect();
	for k in &keys {
		let key = InternalKey::new(k.clone(), 1, InternalKeyKind::Set, 0).encode();
		writer.add(&key, b"value").unwrap();
	}
	let block = Block::new(writer.finish().unwrap(), Arc::clone(&o.internal_comparator));
	let first = block.iter().unwrap();
	let mut second = block.iter().unwrap();
	assert!(first.shares_bytes_of(&block) && second.shares_bytes_of(&block));
	drop(block);
	let mut read = 0;
	while second.advance().unwrap() {
		assert_eq!(second.key().user_key(), keys[read].as_slice());
		read += 1;
	}
	assert_eq!(read, keys.len());
}
