using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using Sutazai.Core.Agents;
using Sutazai.Core.Definitions;
using Sutazai.Core.Models;

namespace Sutazai.Agents.Orchestration;

/// <summary>A pipeline in the original shape: named steps run in order, each able to read what came before.</summary>
/// <param name="Input">What <c>{input}</c> stands for in templates.</param>
/// <param name="OnFailure"><c>stop</c> (the default: the pipeline fails at the first step that fails) or <c>continue</c>.</param>
public sealed record PipelineDefinition(string Name = "", JsonElement? Input = null, IReadOnlyList<JsonElement>? Steps = null, string OnFailure = "stop");

/// <summary>
/// One step: <c>llm_generate</c> (model, prompt_template, parameters), <c>classify</c> (text_key, categories,
/// method llm or embedding, model) or <c>aggregate</c> (inputs, method list, concat, majority_vote, merge or
/// first). <paramref name="Fallbacks"/> are tried in order when the step fails, each replacing some of its fields
/// (another model, another method); the gateway's own fallback models apply inside each try as well.
/// </summary>
public sealed record PipelineStep(
    string Name = "",
    string Type = "",
    string? Model = null,
    string? PromptTemplate = null,
    JsonElement? Parameters = null,
    string? TextKey = null,
    IReadOnlyList<string>? Categories = null,
    string? Method = null,
    IReadOnlyList<string>? Inputs = null,
    string? OutputKey = null,
    IReadOnlyList<JsonElement>? Fallbacks = null);

/// <summary>Runs pipelines of model calls through the gateway, recording each try of each step.</summary>
public sealed partial class ModelPipeline(ModelGateway gateway, TimeProvider time)
{
    private const int MaxSteps = 50;
    private static readonly string[] StepTypes = ["llm_generate", "classify", "aggregate"];

    public async Task<AgentResult> RunAsync(PipelineDefinition pipeline, ModelCaller caller, CancellationToken cancellationToken)
    {
        if (pipeline.Steps is not { Count: > 0 and <= MaxSteps } steps)
        {
            return AgentResult.Failure($"A pipeline needs 1 to {MaxSteps} steps: [{{name, type: {string.Join("|", StepTypes)}, ...}}].");
        }

        if (pipeline.OnFailure is not ("stop" or "continue"))
        {
            return AgentResult.Failure($"on_failure must be stop or continue (got '{pipeline.OnFailure}').");
        }

        var context = new JsonObject { ["input"] = JsonSerializer.SerializeToNode(pipeline.Input), ["results"] = new JsonObject() };
        var reports = new List<object>();
        var failed = new List<string>();
        foreach (var (raw, index) in steps.Select((s, i) => (s, i)))
        {
            var tries = new List<object>();
            var started = time.GetTimestamp();
            var (candidates, problem) = Read(raw, index);
            var step = candidates.Count > 0 ? candidates[0] : null;
            JsonNode? output = null;
            var succeeded = false;
            foreach (var candidate in candidates)
            {
                try
                {
                    output = await RunStepAsync(candidate, context, caller, cancellationToken);
                    tries.Add(new { model = candidate.Model, method = candidate.Method, status = "completed" });
                    succeeded = true;
                    break;
                }
                catch (PipelineStepException e)
                {
                    problem = e.Message;
                }
                catch (Exception e) when (e is UnknownModelException or ModelBusyException or ModelBackendException or ModelCallCancelledException or NotSupportedException or ArgumentException)
                {
                    problem = e.Message;
                }

                tries.Add(new { model = candidate.Model, method = candidate.Method, status = "failed", error = problem });
            }

            var name = step?.Name ?? $"#{index + 1}";
            reports.Add(new { name, type = step?.Type, status = succeeded ? "completed" : "failed", output, tries, duration_ms = time.GetElapsedTime(started).TotalMilliseconds, error = succeeded ? null : problem });
            if (succeeded)
            {
                context["results"]![name] = output?.DeepClone();
                if (step!.OutputKey is { Length: > 0 } key && key is not ("input" or "results"))
                {
                    context[key] = output?.DeepClone();
                }

                continue;
            }

            failed.Add(name);
            if (pipeline.OnFailure == "stop")
            {
                return AgentResult.Failure($"Pipeline '{pipeline.Name}' stopped at step '{name}': {problem}");
            }
        }

        return AgentResult.Success(new { name = pipeline.Name, results = context["results"], steps = reports, failed_steps = failed });
    }

    /// <summary>The step, then each fallback: the step with the fallback's fields in place of its own. Empty, saying why, when one does not fit.</summary>
    private static (IReadOnlyList<PipelineStep> Candidates, string? Problem) Read(JsonElement raw, int index)
    {
        PipelineStep? step;
        var candidates = new List<PipelineStep>();
        try
        {
            step = raw.Deserialize<PipelineStep>(AgentJson.Options);
            if (step is null || raw.ValueKind != JsonValueKind.Object)
            {
                return ([], $"step {index + 1} must be an object");
            }

            if (step.Name.Length == 0 || !StepTypes.Contains(step.Type))
            {
                return ([], step.Name.Length == 0 ? $"step {index + 1} needs a name" : $"step '{step.Name}' has type '{step.Type}'; use {string.Join(", ", StepTypes)}");
            }

            candidates.Add(step);
            foreach (var fallback in step.Fallbacks ?? [])
            {
                if (fallback.ValueKind != JsonValueKind.Object)
                {
                    return ([], $"each fallback of step '{step.Name}' must be an object of the fields to change");
                }

                var merged = JsonNode.Parse(raw.GetRawText())!.AsObject();
                merged.Remove("fallbacks");
                foreach (var field in fallback.EnumerateObject())
                {
                    merged[field.Name] = JsonNode.Parse(field.Value.GetRawText());
                }

                candidates.Add(merged.Deserialize<PipelineStep>(AgentJson.Options)!);
            }
        }
        catch (JsonException e)
        {
            return ([], $"step {index + 1} does not fit a pipeline step: {JsonReason.Of(e)}");
        }

        return (candidates, null);
    }

    private Task<JsonNode?> RunStepAsync(PipelineStep step, JsonObject context, ModelCaller caller, CancellationToken cancellationToken) => step.Type switch
    {
        "llm_generate" => GenerateAsync(step, context, caller, cancellationToken),
        "classify" => ClassifyAsync(step, context, caller, cancellationToken),
        _ => Task.FromResult(Aggregate(step, context)),
    };

    private async Task<JsonNode?> GenerateAsync(PipelineStep step, JsonObject context, ModelCaller caller, CancellationToken cancellationToken)
    {
        var prompt = Fill(step.PromptTemplate ?? throw new PipelineStepException($"step '{step.Name}' needs a prompt_template"), context, step.Name);
        var response = await gateway.ChatAsync(new ChatCall(step.Model, [new ChatMessage(ChatRole.User, prompt)], Options(step), caller), cancellationToken);
        return JsonValue.Create(response.Text);
    }

    /// <summary>
    /// <c>llm</c>: the model is asked to answer with one of the categories, and must; <c>embedding</c>: the category
    /// whose embedding is nearest the text's (cosine), with every category's score.
    /// </summary>
    private async Task<JsonNode?> ClassifyAsync(PipelineStep step, JsonObject context, ModelCaller caller, CancellationToken cancellationToken)
    {
        var text = Text(Lookup(context, step.TextKey ?? throw new PipelineStepException($"step '{step.Name}' needs a text_key"), step.Name));
        if (step.Categories is not { Count: >= 2 and <= 100 } categories || categories.Any(string.IsNullOrWhiteSpace))
        {
            throw new PipelineStepException($"step '{step.Name}' needs 2 to 100 non-empty categories");
        }

        switch (step.Method ?? "llm")
        {
            case "llm":
                var question = $"Classify the text into exactly one of these categories: {string.Join(", ", categories)}.\nAnswer with the category only.\n\nText:\n{text}";
                var options = Options(step);
                options.Temperature ??= 0;
                options.MaxOutputTokens ??= 16;
                var answer = (await gateway.ChatAsync(new ChatCall(step.Model, [new ChatMessage(ChatRole.User, question)], options, caller), cancellationToken)).Text;
                var named = categories.Where(c => answer.Contains(c, StringComparison.OrdinalIgnoreCase)).ToList();
                return named.Count == 1
                    ? new JsonObject { ["category"] = named[0], ["method"] = "llm", ["answer"] = answer }
                    : throw new PipelineStepException($"step '{step.Name}': the model's answer names {(named.Count == 0 ? "none" : "more than one")} of the categories: \"{Shorten(answer)}\"");
            case "embedding":
                var vectors = (await gateway.EmbedAsync(new EmbedCall(step.Model, [text, .. categories], caller), cancellationToken)).Vectors;
                var scores = categories.Select((c, i) => (Category: c, Score: Cosine(vectors[0].Span, vectors[i + 1].Span))).OrderByDescending(s => s.Score).ToList();
                var all = new JsonObject();
                foreach (var (category, score) in scores)
                {
                    all[category] = Math.Round(score, 6);
                }

                return new JsonObject { ["category"] = scores[0].Category, ["method"] = "embedding", ["scores"] = all };
            default:
                throw new PipelineStepException($"step '{step.Name}' has method '{step.Method}'; classify by llm or embedding");
        }
    }

    private static JsonNode? Aggregate(PipelineStep step, JsonObject context)
    {
        if (step.Inputs is not { Count: > 0 } inputs)
        {
            throw new PipelineStepException($"step '{step.Name}' needs inputs: the names of earlier steps");
        }

        var results = context["results"]!.AsObject();
        var values = inputs.Select(i => results.TryGetPropertyValue(i, out var value)
            ? value?.DeepClone()
            : throw new PipelineStepException($"step '{step.Name}': there is no result of a step named '{i}' (steps that failed have none)")).ToList();
        switch (step.Method ?? "list")
        {
            case "list":
                return new JsonArray([.. values]);
            case "concat":
                return JsonValue.Create(string.Join("\n", values.Select(Text)));
            case "first":
                return values.FirstOrDefault(v => v is not null && Text(v).Length > 0);
            case "majority_vote":
                // A classification counts by its category; ties go to the first input.
                var votes = values.Select(v => v is JsonObject o && o["category"] is { } c ? Text(c) : Text(v)).ToList();
                var winner = votes.GroupBy(v => v).OrderByDescending(g => g.Count()).ThenBy(g => votes.IndexOf(g.Key)).First();
                return new JsonObject { ["value"] = winner.Key, ["votes"] = winner.Count(), ["of"] = votes.Count };
            case "merge":
                var merged = new JsonObject();
                foreach (var (value, name) in values.Zip(inputs))
                {
                    if (value is JsonObject fields)
                    {
                        foreach (var (key, field) in fields)
                        {
                            merged[key] = field?.DeepClone();
                        }
                    }
                    else
                    {
                        merged[name] = value;
                    }
                }

                return merged;
            default:
                throw new PipelineStepException($"step '{step.Name}' has method '{step.Method}'; aggregate by list, concat, first, majority_vote or merge");
        }
    }

    private static ChatOptions Options(PipelineStep step)
    {
        var parameters = step.Parameters is { ValueKind: JsonValueKind.Object } given ? given : default;
        float? Number(string name) => parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetSingle() : null;
        var options = new ChatOptions
        {
            Temperature = Number("temperature"),
            MaxOutputTokens = Number("max_tokens") is { } max ? (int)max : 256,
            Seed = Number("seed") is { } seed ? (long)seed : null,
        };
        if (options.Temperature is < 0 or > 2 || options.MaxOutputTokens is < 1 or > 32_768)
        {
            throw new PipelineStepException($"step '{step.Name}': parameters.temperature must be 0 to 2 and max_tokens 1 to 32768");
        }

        return options;
    }

    /// <summary>Replaces each <c>{key}</c> (or <c>{key.field}</c>: an output key, an earlier step's name, <c>input</c>) with that value; <c>{{</c> and <c>}}</c> stand for braces. Nothing is evaluated.</summary>
    private static string Fill(string template, JsonObject context, string step) =>
        TemplateReference().Replace(template, m => m.Value switch
        {
            "{{" => "{",
            "}}" => "}",
            _ => Text(Lookup(context, m.Groups["key"].Value, step)),
        });

    /// <summary>A value of the context by its dotted key; a step's name alone stands for its result (<c>results.NAME</c>).</summary>
    private static JsonNode? Lookup(JsonObject context, string key, string step)
    {
        var first = key.Split('.', 2)[0];
        JsonNode? node = !context.ContainsKey(first) && context["results"] is JsonObject results && results.ContainsKey(first) ? results : context;
        foreach (var part in key.Split('.'))
        {
            node = node is JsonObject o && o.TryGetPropertyValue(part, out var next)
                ? next
                : throw new PipelineStepException($"step '{step}' refers to '{key}', which is not known here (known: {string.Join(", ", context.Select(c => c.Key).Concat(context["results"]!.AsObject().Select(r => r.Key)))})");
        }

        return node;
    }

    private static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        _ => node.ToJsonString(),
    };

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }

        return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "...";

    [GeneratedRegex(@"\{\{|\}\}|\{(?<key>[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*)\}")]
    private static partial Regex TemplateReference();

    private sealed class PipelineStepException(string message) : Exception(message);
}
