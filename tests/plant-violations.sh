#!/bin/bash
# Plant one violation of each tidy rule in a scratch worktree of HEAD, run the tidy test on it
# and show what it reports, one rule at a time; the checkout is left as it was.
# Usage: bash tests/plant-violations.sh   (from the repository; needs no database)
set -u
repo=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$work/tree" >/dev/null 2>&1; rm -rf "$work"' EXIT
git -C "$repo" worktree add -q --detach "$work/tree" HEAD
cd "$work/tree"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/salesloft-toolkit/target}-tidy"
run() { echo "=== planted: $1"; cargo test -q -p tests --test tidy 2>&1 | grep -E "^(module cycles|layering|duplicate helpers|package names|long functions and files|errors that keep a cause as text):|^  [a-z]" | head -6; git checkout -q -- . ; git clean -qfd; }
# 1. a module cycle: reconcile imports apply, which imports reconcile
sed -i 's/^use crate::context::Context;$/use crate::context::Context;\nuse crate::apply::stored_record;/' crates/salesloft-services/src/reconcile.rs
run "reconcile.rs imports apply.rs, which imports reconcile.rs"
# 2a. a crate on a crate above it
python3 - <<'PY'
p='crates/salesloft-storage/Cargo.toml'; s=open(p).read()
s=s.replace("[dependencies]\n","[dependencies]\nsalesloft-sandbox = { path = \"../salesloft-sandbox\" }\n",1); open(p,'w').write(s)
PY
run "salesloft-storage (layer 1) depends on salesloft-sandbox (layer 2)"
# 2b. a bins/ crate on another bins/ crate
python3 - <<'PY'
p='bins/salesloft-server/Cargo.toml'; s=open(p).read()
s=s.replace("[dependencies]\n","[dependencies]\nsalesloft-worker = { path = \"../salesloft-worker\" }\n",1); open(p,'w').write(s)
PY
run "salesloft-server (bins/) depends on salesloft-worker"
# 2c. the embedder service on the runtime (the libraries alone must do)
python3 - <<'PY'
p='tests/embedder/Cargo.toml'; s=open(p).read()
s=s.replace("[dependencies]\n","[dependencies]\nsalesloft-runtime = { path = \"../../crates/salesloft-runtime\" }\n",1); open(p,'w').write(s)
PY
run "embedder depends on salesloft-runtime"
# 3. a helper defined twice
python3 - <<'PY'
src=open('crates/salesloft-services/src/apply.rs').read()
a=src.index("fn first(mut applied: Vec<Applied>)"); b=src.index("\n}\n",a)+3
open('crates/salesloft-services/src/reconcile.rs','a').write("\n"+src[a:b])
PY
run "apply.rs's fn first copied into reconcile.rs"
# 4. a package named otherwise than its folder
sed -i 's/^name = "salesloft-sandbox-bin"$/name = "sandbox-binary"/' bins/salesloft-sandbox-bin/Cargo.toml
run "bins/salesloft-sandbox-bin named sandbox-binary"
# 5. a production function over 80 lines
python3 - <<'PY'
body="\n".join(f"    let _v{i} = {i};" for i in range(85))
open('crates/salesloft-model/src/clock.rs','a').write(f"\n/// Planted.\npub fn planted_long() {{\n{body}\n}}\n")
PY
run "an 87-line function in salesloft-model"
# 6. a public error variant keeping its cause as text
python3 - <<'PY'
p='crates/salesloft-webhooks/src/error.rs'; s=open(p).read()
i=s.index("pub enum "); j=s.index("{",i)+1
s=s[:j]+"\n    /// Planted.\n    #[error(\"database: {0}\")]\n    Database(String),"+s[j:]
open(p,'w').write(s)
PY
run "salesloft-webhooks' error with Database(String)"
