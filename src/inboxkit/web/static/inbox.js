// An inbox's message list: new mail appears as it arrives (Server-Sent Events from this
// origin, authenticated by the session cookie: no token in any URL), keyboard navigation
// (j/k, Enter, `/`), and the unread count in the page title.

const list = document.getElementById("messages");
const empty = document.getElementById("empty");
const mailbox = list.dataset.mailbox;
const address = list.dataset.address;
// The capture mailbox lists whom the application sent each message to, not its sender.
const capture = Boolean(list.dataset.capture);
let unread = Number(list.dataset.unread) || 0;

function showTitle() {
  document.title = unread ? `(${unread}) ${address}` : address;
}

function formatTime(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace(/(\+00:00|Z)$/, " UTC") : "";
}

function span(className, text) {
  const element = document.createElement(className === "time" ? "time" : "span");
  if (className !== "time") element.className = className;
  else element.className = "muted";
  element.textContent = text;  // text, never HTML: the message's fields are the sender's
  return element;
}

// A form post with the page's CSRF token, as the rows the server renders carry.
function rowForm(action, fields, label, className, confirmText) {
  const form = document.createElement("form");
  form.method = "post";
  form.action = action;
  for (const [name, value] of Object.entries({ csrf: list.dataset.csrf, ...fields })) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  const button = document.createElement("button");
  button.type = "submit";
  button.className = className;
  button.textContent = label;
  form.append(button);
  if (confirmText) {
    form.addEventListener("submit", (event) => { if (!confirm(confirmText)) event.preventDefault(); });
  }
  return form;
}

function addMessage(summary) {
  if (list.querySelector(`li[data-id="${CSS.escape(summary.id)}"]`)) return;
  const item = document.createElement("li");
  item.dataset.id = summary.id;
  if (!summary.is_read) item.className = "unread";
  const link = document.createElement("a");
  link.href = `/inbox/${encodeURIComponent(mailbox)}/${encodeURIComponent(summary.id)}`;
  const outbound = summary.direction === "outbound";
  item.dataset.direction = summary.direction || "inbound";
  const to = `To: ${(summary.to || []).join(", ")}`;
  const first = capture ? span("from rcpt", to) : span("from", outbound ? to : summary.from || "");
  if (capture) first.title = `From: ${summary.from || ""}`;
  link.append(
    first,
    span("subject", summary.subject || "(no subject)"),
    span("preview muted", summary.preview || ""),
  );
  if ((summary.labels || []).length) {
    const labels = span("labels", "");
    for (const label of summary.labels) labels.append(span("badge msg-label", label));
    link.append(labels);
  }
  link.append(span("time", formatTime(summary.received_at)));
  const base = `/ui/inbox/${encodeURIComponent(mailbox)}/${encodeURIComponent(summary.id)}`;
  const actions = document.createElement("div");
  actions.className = "actions";
  actions.append(
    rowForm(`${base}/read`, { is_read: summary.is_read ? "0" : "1" },
      summary.is_read ? "Mark unread" : "Mark read", "mark"),
    rowForm(`${base}/delete`, {}, "Delete", "danger remove", "Delete this message?"),
  );
  item.append(link, actions);
  list.prepend(item);
  empty.hidden = true;
  if (!summary.is_read) { unread += 1; showTitle(); }
}

if (list.dataset.live) {
  const events = new EventSource(`/ui/inbox/${encodeURIComponent(mailbox)}/events`);
  events.addEventListener("message.received", (event) => {
    addMessage(JSON.parse(event.data).message);
  });
  for (const name of ["mailbox.deleted", "mailbox.expired"]) {
    events.addEventListener(name, () => { events.close(); location.assign("/"); });
  }
  events.addEventListener("open", () => { document.body.dataset.live = "connected"; });
  events.addEventListener("error", () => { document.body.dataset.live = "reconnecting"; });
}

// Delete the selected message: the same form post (with the page's CSRF token) a button makes.
function deleteSelected() {
  const item = list.querySelectorAll("li")[current];
  if (!item || !confirm("Delete this message?")) return;
  const form = document.createElement("form");
  form.method = "post";
  form.action = `/ui/inbox/${encodeURIComponent(mailbox)}/${encodeURIComponent(item.dataset.id)}/delete`;
  const token = document.createElement("input");
  token.type = "hidden";
  token.name = "csrf";
  token.value = list.dataset.csrf;
  form.append(token);
  document.body.append(form);
  form.submit();
}

// Keyboard: j/k move, Enter opens, Delete deletes, `/` searches.
let current = -1;
function select(index) {
  const items = list.querySelectorAll("li");
  if (!items.length) return;
  current = Math.max(0, Math.min(items.length - 1, index));
  items.forEach((item, i) => item.classList.toggle("selected", i === current));
  items[current].querySelector("a").focus();
}
document.addEventListener("keydown", (event) => {
  const typing = event.target.closest("input, textarea, select");
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "j") select(current + 1);
  else if (event.key === "k") select(current - 1);
  else if (event.key === "/") { event.preventDefault(); document.getElementById("search").focus(); }
  else if (event.key === "Delete" && current >= 0) deleteSelected();
  else if (event.key === "Enter" && current >= 0) {
    list.querySelectorAll("li")[current].querySelector("a").click();
  }
});

showTitle();
