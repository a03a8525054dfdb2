// Shared by the four pages: the navigation bar, the loading status, JSON calls and small renderers.
const pages = [["/", "Search"], ["/pseudo", "Pseudo-labels"], ["/caption", "Caption next"], ["/runs", "Runs"]];

function nav() {
  const bar = document.createElement("nav");
  for (const [href, name] of pages) {
    const a = document.createElement("a");
    a.href = href; a.textContent = name;
    if (location.pathname === href) a.className = "here";
    bar.appendChild(a);
  }
  document.body.prepend(bar);
}

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

async function api(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// Resolves once the model and embeddings are loaded, showing a progress bar in #status meanwhile.
async function ready() {
  const box = document.getElementById("status");
  for (;;) {
    const s = await api("/api/status");
    if (s.ready) {
      box.textContent = `${s.images} images (${s.paired} captioned, ${s.unpaired} unpaired), ${s.classes} classes · model ${s.model}`;
      return s;
    }
    if (s.error) { box.innerHTML = `<span class="error">loading failed: ${esc(s.error)}</span>`; throw new Error(s.error); }
    box.innerHTML = `${esc(s.stage)} <progress max="${s.total || 1}" value="${s.done}"></progress> ${s.done}/${s.total}`;
    await new Promise(r => setTimeout(r, 300));
  }
}

function img(item, cls) {
  return item.url ? `<img ${cls ? `class="${cls}"` : ""} src="${esc(item.url)}" alt="${esc(item.name)}" title="${esc(item.path)}">`
                  : `<span class="muted">(${esc(item.name)} is outside the served folders)</span>`;
}

function labels(list) {
  return (list || []).map(l => `${esc(l.name)} ${(100 * l.p).toFixed(0)}%`).join(", ");
}

function showError(e) {
  document.getElementById("status").innerHTML = `<span class="error">${esc(e.message)}</span>`;
}

nav();
