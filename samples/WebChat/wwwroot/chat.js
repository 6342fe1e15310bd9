// The chat page: keeps the conversation in the browser and streams answers from /v1/chat/completions (SSE over fetch).
const messagesEl = document.getElementById('messages');
const form = document.getElementById('composer');
const input = document.getElementById('input');
const sendButton = document.getElementById('send');
const stopButton = document.getElementById('stop');
let history = [];
let controller = null;

const modelSelect = document.getElementById('model-select');
const presetSelect = document.getElementById('preset');

// The served models (name, precision, context length); the selected one answers.
fetch('/v1/models').then(r => r.json()).then(list => {
  document.getElementById('model').textContent = 'model: ' + list.data.map(m => m.id).join(', ');
  for (const m of list.data) {
    const option = document.createElement('option');
    option.value = m.id;
    option.textContent = m.precision ? `${m.id} (${m.precision}, ${m.context_length} ctx)` : m.id;
    modelSelect.appendChild(option);
  }
}).catch(() => { document.getElementById('model').textContent = 'model list unavailable'; });

function addMessage(role, text) {
  const el = document.createElement('div');
  el.className = 'message ' + role;
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  el.appendChild(body);
  messagesEl.appendChild(el);
  messagesEl.scrollTop = messagesEl.scrollHeight;
  return el;
}

// Reads "data: {json}" events from a fetch body; calls onEvent with each parsed chunk until [DONE].
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        onEvent(JSON.parse(data));
      }
    }
  }
}

async function send(text) {
  history.push({ role: 'user', content: text });
  addMessage('user', text);
  const answerEl = addMessage('assistant', '');
  answerEl.classList.add('streaming');
  const textEl = answerEl.querySelector('.text');
  controller = new AbortController();
  sendButton.disabled = true;
  stopButton.hidden = false;
  const started = performance.now();
  let firstTokenMs = null;
  let answer = '';
  try {
    const response = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: modelSelect.value || undefined,
        localllm_preset: presetSelect.value || undefined,
        messages: history, stream: true, stream_options: { include_usage: true },
      }),
      signal: controller.signal,
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
    }
    let usage = null, finish = null, measured = null;
    await readEvents(response, chunk => {
      if (chunk.error) throw new Error(chunk.error.message);
      if (chunk.usage) usage = chunk.usage;
      if (chunk.localllm) measured = chunk.localllm;
      const choice = chunk.choices?.[0];
      if (!choice) return;
      if (choice.delta?.content) {
        if (firstTokenMs === null) firstTokenMs = performance.now() - started;
        answer += choice.delta.content;
        textEl.textContent = answer;
        messagesEl.scrollTop = messagesEl.scrollHeight;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    });
    history.push({ role: 'assistant', content: answer });
    const stats = document.createElement('small');
    stats.className = 'stats muted';
    const seconds = (performance.now() - started) / 1000;
    // What the SDK measured (the server's localllm usage fields); the browser's own timing when a server lacks them.
    stats.textContent = [
      measured ? `TTFT ${Math.round(measured.time_to_first_token_ms)} ms`
        : firstTokenMs !== null ? `first token ${Math.round(firstTokenMs)} ms` : null,
      usage ? `${usage.completion_tokens} tokens` : null,
      measured ? `${measured.decode_tokens_per_second.toFixed(1)} tok/s`
        : usage && seconds > 0 ? `${(usage.completion_tokens / seconds).toFixed(1)} tok/s` : null,
      measured ? `${measured.reused_prompt_tokens} of ${measured.prompt_tokens} prompt tokens reused` : null,
      `finish: ${measured?.finish_reason ?? finish ?? 'unknown'}`,
    ].filter(Boolean).join(' · ');
    answerEl.appendChild(stats);
  } catch (e) {
    if (e.name === 'AbortError') {
      history.push({ role: 'assistant', content: answer });
    } else {
      history.pop();
      answerEl.classList.add('error');
      textEl.textContent = answer + (answer ? '\n' : '') + 'Error: ' + e.message;
    }
  } finally {
    answerEl.classList.remove('streaming');
    answerEl.classList.add('done');
    controller = null;
    sendButton.disabled = false;
    stopButton.hidden = true;
  }
}

form.addEventListener('submit', e => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text || controller) return;
  input.value = '';
  send(text);
});
input.addEventListener('keydown', e => {
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
});
stopButton.addEventListener('click', () => controller?.abort());
document.getElementById('reset').addEventListener('click', () => {
  controller?.abort();
  history = [];
  messagesEl.replaceChildren();
});
