/*
 * The chat widget: POST /chat/stream, read the server-sent events from the response body as they
 * arrive, and append the text to the answer (as text, never HTML). The final event carries usage
 * (tokens, cost, model) and the figures used. 429 shows when to try again; a degraded answer gets a
 * neutral notice in the page's language; figures the answer states but the data does not support
 * (`unsupported_figures`, when the app sends them) are marked in the answer.
 */
(function () {
  "use strict";

  var CF = window.CF;
  var STREAM_TIMEOUT_MS = 60000;

  var t = CF.t;
  var SUGGESTIONS = ["chat.suggest_cheapest", "chat.suggest_price_now", "chat.suggest_comfort", "chat.suggest_kwh_kg", "chat.suggest_tomorrow", "chat.suggest_savings"];

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

  // The app's failure kinds (app/chat/client.py FailureKind); any other shows a general reason.
  var FAILURES = ["no_key", "rate_limited", "overloaded", "server_error", "timeout", "connection", "stream_cut", "api_error"];

  /** Why the model did not write the answer, in words (never the code itself). */
  function failureText(kind) {
    return t(FAILURES.indexOf(kind) === -1 ? "chat.failure_other" : "chat.failure_" + kind);
  }

  function eur(v) {
    if (!CF.isNum(v)) return CF.DASH;
    return CF.eur(v, v < 0.01 ? 5 : 4);
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
      t("chat.tokens", { input: CF.num(input), output: CF.num(output) }) +
        (CF.isNum(cached) ? t("chat.tokens_cached", { cached: CF.num(cached) }) : ""),
      t("chat.cost", { cost: eur(typeof cost === "object" ? CF.pick(cost, "eur") : cost) }),
    ];
    if (CF.isNum(latency)) parts.push(CF.num(latency / 1000, 1) + " s");
    if (model) parts.push(String(model));
    return parts.join(" · ");
  }

  var CATEGORIES = [
    "get_status", "get_prices", "find_cheapest_window", "get_weather",
    "get_production", "list_batches", "what_if_schedule", "compare_periods",
  ];

  /** Human text for a cited figure (a string, or {label|name|category, value, unit, ts, source}). */
  function figureText(f) {
    if (typeof f !== "object" || f === null) return CATEGORIES.indexOf(f) !== -1 ? t("chat.category_" + f) : String(f);
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
      send.textContent = value ? t("chat.answering") : t("chat.ask");
      answer.setAttribute("aria-busy", value ? "true" : "false");
    }

    function rateLimited(retryAfterSeconds) {
      var remaining = CF.isNum(retryAfterSeconds) && retryAfterSeconds > 0 ? Math.ceil(retryAfterSeconds) : 30;
      clearInterval(retryTimer);
      function tick() {
        setStatus(t("chat.rate_limited", { seconds: remaining }), "warn");
        if (remaining <= 0) {
          clearInterval(retryTimer);
          retryTimer = null;
          setStatus(t("chat.ask_again"), "info");
          setBusy(false);
          return;
        }
        remaining -= 1;
      }
      retryTimer = setInterval(tick, 1000);
      tick();
      send.disabled = true;
    }

    /** A neutral notice: the answer is a short summary of the figures, not written by the model. */
    function showDegraded(kind) {
      setStatus(t("chat.degraded", { reason: failureText(kind) }), "info");
    }

    /** Mark each figure of the answer that the data does not support, and say so above it. */
    function markUnsupported(final) {
      var figures = CF.pick(final, "unsupported_figures");
      var grounded = CF.pick(final, "grounded");
      if (!Array.isArray(figures)) figures = [];
      figures = figures.filter(function (f) { return typeof f === "string" && f !== ""; });
      if (figures.length === 0 && grounded !== false) return false;
      var text = answer.textContent;
      var nodes = [];
      var rest = text;
      while (rest) {
        var at = -1;
        var found = null;
        figures.forEach(function (f) {
          var i = rest.indexOf(f);
          if (i !== -1 && (at === -1 || i < at)) {
            at = i;
            found = f;
          }
        });
        if (found === null) {
          nodes.push(rest);
          break;
        }
        nodes.push(rest.slice(0, at));
        nodes.push(CF.el("mark", { className: "unsupported", title: t("chat.unsupported_title") }, found));
        rest = rest.slice(at + found.length);
      }
      CF.fill(answer, nodes);
      setStatus(t("chat.unsupported", { n: figures.length }), "info");
      return true;
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
        showDegraded(CF.pick(final, "failure", "degraded_reason", "reason"));
      } else {
        markUnsupported(final);
      }
    }

    function ask(text) {
      if (busy || retryTimer !== null) return;
      text = text.trim();
      if (!text) {
        setStatus(t("chat.type_first"), "info");
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
              setStatus(t("chat.not_answered", { detail: message || "HTTP " + response.status }));
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
              setStatus(t("chat.failed"));
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
            if (!gotFinal && !answer.textContent) setStatus(t("chat.ended_early"));
          });
        })
        .catch(function (err) {
          setStatus(
            err && err.name === "AbortError"
              ? t("chat.timeout", { seconds: STREAM_TIMEOUT_MS / 1000 })
              : t("chat.unreachable")
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
      SUGGESTIONS.map(function (key) {
        var text = t(key);
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
        showDegraded(data.key_configured === false ? "no_key" : data.reason);
        return;
      }
      var failedAt = CF.toDate(data.last_failure_at);
      var succeededAt = CF.toDate(data.last_success_at);
      if (failedAt && (!succeededAt || failedAt > succeededAt)) {
        setStatus(t("chat.last_failed", { reason: failureText(data.last_failure_kind), ago: CF.ago(failedAt) }), "info");
      }
    });
  }

  window.CFChat = { SSEParser: SSEParser };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ChatWidget);
  else ChatWidget();
})();
