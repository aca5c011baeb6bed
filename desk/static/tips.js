// Opens a tip in the officer's browser: the private key file is read here, kept in this
// page's memory only, and never sent anywhere; the server hands over only ciphertext
// (PyNaCl SealedBox = libsodium crypto_box_seal).
import sodium from "./vendor/libsodium-wrappers.mjs";

const section = document.getElementById("unseal");
const labels = JSON.parse(document.getElementById("tip-labels").textContent);
let secretKey = null;
let photoUrls = [];

function show(id, text) {
  const node = document.getElementById(id);
  node.textContent = text;
  node.hidden = false;
}

function fact(list, term, value) {
  if (!value) return;
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  list.append(dt, dd);
}

function readKey(text) {
  const raw = sodium.from_base64(text.trim(), sodium.base64_variants.ORIGINAL);
  if (raw.length !== sodium.crypto_box_SECRETKEYBYTES) throw new Error("size");
  return raw;
}

function open(sealed, publicKey) {
  return sodium.crypto_box_seal_open(sodium.from_base64(sealed, sodium.base64_variants.ORIGINAL), publicKey, secretKey);
}

async function unseal(file) {
  await sodium.ready;
  document.getElementById("unseal-error").hidden = true;
  try {
    secretKey = readKey(await file.text());
  } catch (error) {
    show("unseal-error", labels.bad_file);
    return;
  }
  const publicKey = sodium.crypto_scalarmult_base(secretKey);
  const answer = await fetch(section.dataset.sealed, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!answer.ok) { show("unseal-error", labels.wrong_key); return; }
  const parts = await answer.json();
  let payload;
  try {
    payload = JSON.parse(sodium.to_string(open(parts.tip, publicKey)));
  } catch (error) {
    secretKey = null;
    show("unseal-error", labels.wrong_key);
    return;
  }
  document.getElementById("tip-text").textContent = payload.text;
  const facts = document.getElementById("tip-facts");
  facts.replaceChildren();
  fact(facts, labels.when_label, labels.when[payload.when_choice] || payload.when_text);
  fact(facts, labels.place, payload.place);
  if (payload.location) fact(facts, labels.location, payload.location.join(", "));
  const photos = document.getElementById("tip-photos");
  photos.replaceChildren();
  photoUrls.forEach((u) => URL.revokeObjectURL(u));
  photoUrls = parts.photos.map((sealed) => URL.createObjectURL(new Blob([open(sealed, publicKey)], { type: "image/jpeg" })));
  for (const address of photoUrls) {
    const img = document.createElement("img");
    img.src = address;
    img.alt = "";
    photos.append(img);
  }
  const history = document.getElementById("tip-history");
  history.replaceChildren();
  for (const entry of parts.history) {
    const item = document.createElement("li");
    const words = entry.sealed ? ": " + sodium.to_string(open(entry.sealed, publicKey)) : (entry.status ? ": " + entry.status : "");
    item.textContent = entry.at + " — " + (labels[entry.kind] || entry.kind) + words;
    history.append(item);
  }
  document.getElementById("sealed-note").hidden = true;
  document.getElementById("tip-details").hidden = false;
  section.dataset.opened = "yes";
}

function forget() {
  if (secretKey) sodium.memzero(secretKey);
  secretKey = null;
  photoUrls.forEach((u) => URL.revokeObjectURL(u));
  photoUrls = [];
  document.getElementById("tip-text").textContent = "";
  document.getElementById("tip-facts").replaceChildren();
  document.getElementById("tip-photos").replaceChildren();
  document.getElementById("tip-history").replaceChildren();
  document.getElementById("tip-details").hidden = true;
  document.getElementById("sealed-note").hidden = false;
  document.getElementById("key-file").value = "";
  section.dataset.opened = "";
}

document.getElementById("key-file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) unseal(file);
});
document.getElementById("forget-key").addEventListener("click", forget);
window.addEventListener("pagehide", forget);
section.dataset.ready = "yes";
