/*
 * The chat widget: POST /chat/stream, read the server-sent events from the response body as they
 * arrive, and append the text to the answer (as text, never HTML). The final event carries usage
 * (tokens, cost, model) and the figures used. 429 shows when to try again; a degraded answer says so.
 */
(function () {
  "use strict";

  var CF = window.CF;
  var STREAM_TIMEOUT_MS = 60000;

  var SUGGESTIONS = [
    "When is electricity cheapest today?",
    "What is the price now and which tariff period is it?",
    "Is the temperature inside the comfort band for chocolate?",
    "How much energy per kg did we use this week?",
    "¿Cuándo es más barato producir mañana?",
    "¿Cuánto ahorramos frente al horario fijo?",
  ];

  /** Split an SSE stream into events: calls onEvent({event, data}) for each complete event. */
  function SSEParser(onEvent) {
    var buffer = "";
    function dispatch(block) {
      var eventName = "message";
      var data = [];
      block.split(/\r\n|\r|\n/).forEach(function (line) {
        if (!line || line.charAt(0) === ":") return;
        var colon = line.indexOf(":");
        var field = colon === -1 ? line : line.slice(0, colon);
        var value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.charAt(0) === " ") value = value.slice(1);
        if (field === "event") eventName = value;
        else if (field === "data") data.push(value);
      });
      if (data.length === 0 && eventName === "message") return;
      onEvent({ event: eventName, data: data.join("\n") });
    }
    return {
      push: function (chunk) {
        buffer += chunk;
        var match;
        var separator = /\r\n\r\n|\n\n|\r\r/;
        while ((match = separator.exec(buffer))) {
          var block = buffer.slice(0, match.index);
          buffer = buffer.slice(match.index + match[0].length);
          dispatch(block);
        }
      },
      end: function () {
        if (buffer.trim()) dispatch(buffer);
        buffer = "";
      },
    };
  }

  function parseData(text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return text;
    }
  }

  /** The text delta carried by an event, or null when the event carries none. */
  function deltaText(name, payload) {
    if (typeof payload === "string") {
      return name === "message" || name === "delta" || name === "text" ? payload : null;
    }
    var type = CF.pick(payload, "type") || name;
    if (["delta", "text", "token", "text_delta", "message", "content_block_delta", "chunk"].indexOf(type) === -1) {
      return null;
    }
    var text = CF.pick(payload, "text", "delta.text", "delta", "content");
    return typeof text === "string" ? text : null;
  }

  function isFinal(name, payload) {
    var type = (payload && typeof payload === "object" && payload.type) || name;
    return ["usage", "done", "final", "end", "complete", "message_stop"].indexOf(type) !== -1;
  }

  function isError(name, payload) {
    var type = (payload && typeof payload === "object" && payload.type) || name;
    return type === "error";
  }

  var FAILURES = {
    no_key: "no API key configured",
    timeout: "the model did not answer in time",
    overloaded: "the model is overloaded",
    rate_limited: "the model's API is rate limiting us",
    api_error: "the model's API failed",
    connection: "the model's API cannot be reached",
  };

  function failureText(kind) {
    if (!kind) return "";
    return FAILURES[kind] || String(kind).replace(/_/g, " ");
  }

  function eur(v) {
    if (!CF.isNum(v)) return CF.DASH;
    return "€" + v.toFixed(v < 0.01 ? 5 : 4);
  }

  /** "1,234 in · 210 out · 800 cached · €0.00123 · 1.2 s · claude-haiku" from a usage payload. */
  function usageText(final) {
    var usage = CF.pick(final, "usage", "tokens") || final || {};
    var input = CF.pick(usage, "input_tokens", "input", "tokens_in", "prompt_tokens");
    var output = CF.pick(usage, "output_tokens", "output", "tokens_out", "completion_tokens");
    var cached = CF.pick(usage, "cache_read_tokens", "cached_tokens", "cache_read_input_tokens", "cached", "cache_read");
    var cost = CF.pick(final, "cost_eur", "usage.cost_eur", "cost");
    var latency = CF.pick(final, "latency_ms", "usage.latency_ms");
    var model = CF.pick(final, "model", "usage.model");
    var parts = [
      "Tokens: " + CF.num(input) + " in, " + CF.num(output) + " out" + (CF.isNum(cached) ? ", " + CF.num(cached) + " cached" : ""),
      "cost " + eur(typeof cost === "object" ? CF.pick(cost, "eur") : cost),
    ];
    if (CF.isNum(latency)) parts.push(CF.num(latency / 1000, 1) + " s");
    if (model) parts.push(String(model));
    return parts.join(" · ");
  }

  var CATEGORIES = {
    status: "Current status",
    prices: "Energy prices",
    windows: "Cheapest production windows",
    weather: "Weather and production",
    production: "Production and energy per kg",
    savings: "Savings against the fixed schedule",
    alerts: "Alerts",
    overview: "Overview",
  };

  /** Human text for a cited figure (a string, or {label|name|category, value, unit, ts, source}). */
  function figureText(f) {
    if (typeof f !== "object" || f === null) return CATEGORIES[f] || String(f);
    var label = CF.pick(f, "label", "name", "figure", "category", "key");
    var value = CF.pick(f, "value", "text");
    var unit = CF.pick(f, "unit");
    var when = CF.pick(f, "ts", "timestamp", "at");
    var source = CF.pick(f, "source");
    var text = (label !== undefined ? label + ": " : "") + (value !== undefined ? value : "");
    if (unit) text += " " + unit;
    var extra = [when ? CF.dateTime(when) : null, source || null].filter(Boolean);
    if (extra.length) text += " (" + extra.join(", ") + ")";
    return text.trim() || JSON.stringify(f);
  }

  function ChatWidget() {
    var form = document.getElementById("chat-form");
    if (!form) return;
    var question = document.getElementById("chat-question");
    var send = document.getElementById("chat-send");
    var answer = document.getElementById("chat-answer");
    var status = document.getElementById("chat-status");
    var usage = document.getElementById("chat-usage");
    var citedWrap = document.getElementById("chat-cited-wrap");
    var cited = document.getElementById("chat-cited");
    var suggestions = document.getElementById("chat-suggestions");
    var newConversation = document.getElementById("chat-new");
    var conversationId = null;
    var busy = false;
    var retryTimer = null;

    function setStatus(text, kind) {
      if (!text) {
        status.replaceChildren();
        return;
      }
      CF.fill(status, CF.el("p", { className: "notice" + (kind ? " " + kind : "") }, text));
    }

    function setBusy(value) {
      busy = value;
      send.disabled = value || retryTimer !== null;
      send.textContent = value ? "Answering…" : "Ask";
      answer.setAttribute("aria-busy", value ? "true" : "false");
    }

    function rateLimited(retryAfterSeconds) {
      var remaining = CF.isNum(retryAfterSeconds) && retryAfterSeconds > 0 ? Math.ceil(retryAfterSeconds) : 30;
      clearInterval(retryTimer);
      function tick() {
        setStatus("Rate limited: too many questions in a short time. Try again in " + remaining + " s.", "warn");
        if (remaining <= 0) {
          clearInterval(retryTimer);
          retryTimer = null;
          setStatus("You can ask again now.", "info");
          setBusy(false);
          return;
        }
        remaining -= 1;
      }
      retryTimer = setInterval(tick, 1000);
      tick();
      send.disabled = true;
    }

    function showDegraded(reason) {
      setStatus(
        "The assistant is degraded" + (reason ? " (" + reason + ")" : "") +
          ": answers are a plain summary of the factory's figures, not written by the model.",
        "warn"
      );
    }

    function showFigures(payload) {
      var figures = CF.pick(payload, "figures", "citations", "cited", "sources", "categories");
      if (Array.isArray(figures) && figures.length) {
        CF.fill(cited, figures.map(function (f) { return CF.el("li", null, figureText(f)); }));
        citedWrap.hidden = false;
      }
      var conv = CF.pick(payload, "conversation_id");
      if (conv) {
        conversationId = conv;
        newConversation.hidden = false;
      }
    }

    function showFinal(final) {
      usage.textContent = usageText(final);
      showFigures(final);
      if (CF.pick(final, "degraded") === true) {
        showDegraded(failureText(CF.pick(final, "failure", "degraded_reason", "reason")));
      }
    }

    function ask(text) {
      if (busy || retryTimer !== null) return;
      text = text.trim();
      if (!text) {
        setStatus("Type a question first.", "info");
        question.focus();
        return;
      }
      setBusy(true);
      setStatus("");
      answer.textContent = "";
      usage.textContent = "";
      cited.replaceChildren();
      citedWrap.hidden = true;

      var controller = new AbortController();
      var timer = setTimeout(function () { controller.abort(); }, STREAM_TIMEOUT_MS);
      var body = { question: text };
      if (conversationId) body.conversation_id = conversationId;
      var gotFinal = false;

      fetch("/chat/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(body),
        signal: controller.signal,
        credentials: "same-origin",
      })
        .then(function (response) {
          if (response.status === 429) {
            rateLimited(Number(response.headers.get("Retry-After")));
            return null;
          }
          if (!response.ok) {
            return response.text().then(function (t) {
              var data = parseData(t);
              var detail = CF.pick(data, "detail");
              var message = typeof detail === "string" ? detail : Array.isArray(detail) ? CF.pick(detail[0], "msg") : null;
              setStatus("The question was not answered: " + (message || "HTTP " + response.status) + ".");
            });
          }
          if (!response.body || !response.body.getReader) {
            return response.text().then(function (t) { answer.textContent = t; });
          }
          var reader = response.body.getReader();
          var decoder = new TextDecoder();
          var parser = SSEParser(function (evt) {
            var payload = parseData(evt.data);
            if (isError(evt.event, payload)) {
              setStatus("The assistant failed: " + (CF.pick(payload, "message", "detail", "error") || evt.data));
              return;
            }
            var delta = deltaText(evt.event, payload);
            if (delta !== null) {
              answer.appendChild(document.createTextNode(delta));
              return;
            }
            if (isFinal(evt.event, payload) && typeof payload === "object") {
              gotFinal = true;
              showFinal(payload);
            } else if (payload && typeof payload === "object") {
              showFigures(payload);
            }
          });
          function read() {
            return reader.read().then(function (chunk) {
              if (chunk.done) {
                parser.push(decoder.decode());
                parser.end();
                return;
              }
              parser.push(decoder.decode(chunk.value, { stream: true }));
              return read();
            });
          }
          return read().then(function () {
            if (!gotFinal && !answer.textContent) setStatus("The answer ended before any text arrived.");
          });
        })
        .catch(function (err) {
          setStatus(
            err && err.name === "AbortError"
              ? "No complete answer within " + STREAM_TIMEOUT_MS / 1000 + " s; try again."
              : "The app cannot be reached; check the connection and try again."
          );
        })
        .finally(function () {
          clearTimeout(timer);
          setBusy(false);
        });
    }

    newConversation.addEventListener("click", function () {
      conversationId = null;
      newConversation.hidden = true;
      answer.textContent = "";
      usage.textContent = "";
      cited.replaceChildren();
      citedWrap.hidden = true;
      question.value = "";
      question.focus();
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      ask(question.value);
    });
    question.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        ask(question.value);
      }
    });

    CF.fill(
      suggestions,
      SUGGESTIONS.map(function (text) {
        var button = CF.el("button", { type: "button" }, text);
        button.addEventListener("click", function () {
          question.value = text;
          ask(text);
        });
        return CF.el("li", null, button);
      })
    );

    CF.fetchJSON("/chat/health", { timeoutMs: 5000 }).then(function (result) {
      if (!result.ok || !result.data) return;
      var data = result.data;
      if (data.key_configured === false || data.degraded === true) {
        showDegraded(data.key_configured === false ? failureText("no_key") : failureText(data.reason));
        return;
      }
      var failedAt = CF.toDate(data.last_failure_at);
      var succeededAt = CF.toDate(data.last_success_at);
      if (failedAt && (!succeededAt || failedAt > succeededAt)) {
        setStatus(
          "The model's last answer failed (" + failureText(data.last_failure_kind) + ", " + CF.ago(failedAt) +
            "): if it fails again, the answer is a plain summary of the figures.",
          "info"
        );
      }
    });
  }

  window.CFChat = { SSEParser: SSEParser };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ChatWidget);
  else ChatWidget();
})();
