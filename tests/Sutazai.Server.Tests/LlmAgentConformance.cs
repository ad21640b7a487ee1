using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Tasks;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>
/// A server with the tiny GGUF model (real llama.cpp) as its default, a scripted OpenAI-compatible server that
/// calls tools on cue, and a directory of agent files: one good, one with a mistake.
/// </summary>
public sealed class LlmAgentFixture<TStore> : TaskFixture<TStore>
    where TStore : ITestStore, new()
{
    public ScriptedModelServer Scripted { get; private set; } = null!;

    public string AgentFiles { get; } = Directory.CreateTempSubdirectory("sutazai-agent-files-").FullName;

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Sutazai:Models:DefaultModel"] = "tiny",
        ["Sutazai:Models:LlamaCpp:Models:tiny:Path"] = TinyGguf.InTemp(),
        ["Sutazai:Models:LlamaCpp:Models:tiny:ContextSize"] = "512",
        ["Sutazai:Models:LlamaCpp:Models:tiny:Threads"] = "2",
        ["Sutazai:Models:OpenAi:Servers:scripted:Endpoint"] = Scripted.Endpoint,
        ["Sutazai:Models:OpenAi:Servers:scripted:Models:0"] = ScriptedModelServer.Model,
        ["Sutazai:Agents:DefinitionsPath"] = AgentFiles,
        ["Sutazai:Models:Ollama:Endpoint"] = Scripted.Address.ToString(),
    };

    public override async ValueTask InitializeAsync()
    {
        Scripted = await ScriptedModelServer.StartAsync();
        await File.WriteAllTextAsync(Path.Combine(AgentFiles, "greeter.yaml"), """
            # The body of POST /api/v1/agents, as a file.
            name: file-greeter
            kind: llm
            description: greets
            capabilities: [greeting]
            definition:
              model: tiny
              instructions: Greet whoever writes.
              max_tokens: 4
            """, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(AgentFiles, "broken.yml"), """
            name: file-broken
            kind: llm
            capabilities: [greeting]
            definition:
              instructions: Use a tool that does not exist.
              tools:
                - system_metrics
                - crystal_ball
            """, TestContext.Current.CancellationToken);
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Scripted.DisposeAsync();
        Directory.Delete(AgentFiles, recursive: true);
    }
}

/// <summary>
/// LLM agents declared in YAML, JSON and files, run as tasks through the gateway; their tools as tasks of the
/// submitter's; the ollama-integration-specialist's actions; and what happens when an answer or a declaration is wrong.
/// </summary>
public abstract class LlmAgentConformance<TStore>(LlmAgentFixture<TStore> fixture) : IClassFixture<LlmAgentFixture<TStore>>
    where TStore : ITestStore, new()
{
    private const string Specialist = "ollama-integration-specialist";
    private const string Coordinator = "task-assignment-coordinator";
    private const string Orchestrator = "ai-agent-orchestrator";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    private static Task<HttpResponseMessage> PostYamlAsync(HttpClient client, string yaml) =>
        client.PostAsync("/api/v1/agents", new StringContent(yaml, Encoding.UTF8, "application/yaml"), Cancellation);

    private async Task<string> DeclareAsync(HttpClient client, object definition, string prefix = "llm")
    {
        var name = NewName(prefix);
        await client.PostAsJsonAsync("/api/v1/agents", new { name, kind = "llm", capabilities = new[] { name }, definition }, Cancellation).SucceededAsync(fixture.Factory.Logs);
        return name;
    }

    [Fact]
    public async Task An_llm_agent_declared_in_yaml_runs_as_a_task_on_its_model_and_its_calls_are_recorded_against_it()
    {
        var (user, developer, _) = await fixture.Api.SignedInUserAsync("developer");
        var name = NewName("poet");

        var created = await PostYamlAsync(developer, $"""
            name: {name}
            kind: llm
            description: writes a line
            capabilities: [{name}]
            max_concurrency: 2
            definition:
              model: tiny
              instructions: |
                Answer in one short line.
              temperature: 0
              max_tokens: 6
            """).SucceededAsync(fixture.Factory.Logs);
        var first = await fixture.RunAsync(developer, name, "run", new { prompt = "the sea at night" });
        var second = await fixture.RunAsync(developer, name, "run", new { prompt = "a list of prime numbers" });
        using var wrongAction = await developer.PostAsJsonAsync("/api/v1/tasks", new { title = "summon", agent = name, action = "summon" }, Cancellation);

        Assert.Equal(("llm", 2), (created.GetProperty("kind").GetString()!.ToLowerInvariant(), created.GetProperty("max_concurrency").GetInt32()));
        Assert.Equal("tiny", created.GetProperty("definition").GetProperty("model").GetString());
        Assert.Equal(["run"], created.GetProperty("actions").EnumerateArray().Select(a => a.GetProperty("name").GetString()).ToList());
        Assert.True(first.GetProperty("status").GetString() == "completed", first.ToString());
        var result = first.GetProperty("result");
        Assert.Equal("tiny", result.GetProperty("model").GetString());
        Assert.Equal(6, result.GetProperty("completion_tokens").GetInt64());
        Assert.Equal(result.GetProperty("text").GetString(), result.GetProperty("output").GetString());
        // Same agent, another input: another answer (temperature 0 makes each one the model's own, not luck).
        Assert.NotEqual(result.GetProperty("text").GetString(), second.GetProperty("result").GetProperty("text").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, wrongAction.StatusCode);
        Assert.Contains("Known actions: run.", await wrongAction.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);

        await using var db = await fixture.DatabaseWithRecordsAsync();
        var taskId = first.GetProperty("id").GetGuid();
        var call = await db.ChatHistory.AsNoTracking().SingleAsync(c => c.TaskId == taskId, Cancellation);
        Assert.Equal((name, user.Id, "tiny", "the sea at night"), (call.AgentUsed, call.UserId, call.Model, call.Message));
    }

    [Fact]
    public async Task An_llm_agent_whose_model_nobody_serves_is_unhealthy_and_its_tasks_wait_saying_why()
    {
        using var admin = await fixture.Api.AdminAsync();
        var name = await DeclareAsync(admin, new { model = "not-served-anywhere", instructions = "Answer." });
        await fixture.CheckHealthAsync();

        var agent = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/agents/{name}", Cancellation);
        var task = await fixture.SubmitAsync(admin, new { title = "wait", required_capabilities = new[] { name }, action = "run", input = new { prompt = "hi" } });
        var waiting = await fixture.WaitUntilAsync(admin, task.GetProperty("id").GetGuid(), t => t.GetProperty("routing_reason").GetString() is { Length: > 0 }, "say why it waits");

        Assert.Equal("unhealthy", agent.GetProperty("health").GetString());
        Assert.Contains("no backend serves its model 'not-served-anywhere'", agent.GetProperty("health_detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("queued", waiting.GetProperty("status").GetString());
        Assert.Contains("no backend serves its model", waiting.GetProperty("routing_reason").GetString(), StringComparison.Ordinal);
        await admin.PatchAsJsonAsync($"/api/v1/agents/{name}", new { is_active = false }, Cancellation);
        await admin.PostAsync($"/api/v1/tasks/{task.GetProperty("id").GetGuid()}/cancel", null, Cancellation);
    }

    [Fact]
    public async Task A_declaration_with_a_mistake_is_refused_naming_the_field_line_and_column()
    {
        var (_, developer, _) = await fixture.Api.SignedInUserAsync("developer");

        using var syntax = await PostYamlAsync(developer, "name: x\nkind: llm\ndefinition: {instructions: [unclosed\n");
        using var badTool = await PostYamlAsync(developer, """
            name: tool-mistake
            kind: llm
            capabilities: [writing]
            definition:
              instructions: Write.
              tools:
                - delegate
                - agent:Not_A_Name
            """);
        using var badSchema = await developer.PostAsJsonAsync("/api/v1/agents", new
        {
            name = "schema-mistake",
            kind = "llm",
            capabilities = new[] { "writing" },
            definition = new { instructions = "Write.", output_schema = new { type = 42 } },
        }, Cancellation);
        using var noDefinition = await developer.PostAsJsonAsync("/api/v1/agents", new { name = "no-definition", kind = "llm", capabilities = new[] { "writing" } }, Cancellation);
        using var wrongType = await PostYamlAsync(developer, "name: typed\nkind: llm\ncapabilities: [writing]\nmax_concurrency: lots\ndefinition: {instructions: Write.}\n");
        using var nul = await PostYamlAsync(developer, "name: nul-text\nkind: llm\ncapabilities: [writing]\ndefinition: {instructions: \"a\\0b\"}\n");
        using var nulJson = await developer.PostAsJsonAsync("/api/v1/agents", new { name = "nul-json", kind = "llm", capabilities = new[] { "writing" }, definition = new { instructions = "a\u0000b" } }, Cancellation);
        using var notYaml = await developer.PostAsync("/api/v1/agents", new StringContent("name: x", Encoding.UTF8, "text/csv"), Cancellation);

        var syntaxProblem = await HttpConformance<TStore>.AssertProblemAsync(syntax, HttpStatusCode.BadRequest, "malformed-json");
        // The unclosed list is found where the text ends.
        Assert.Equal(4, syntaxProblem.GetProperty("line").GetInt64());
        var toolErrors = (await HttpConformance<TStore>.AssertProblemAsync(badTool, HttpStatusCode.BadRequest, "validation")).GetProperty("errors");
        var toolError = Assert.Single(toolErrors.EnumerateObject());
        Assert.Equal("definition.tools[1]", toolError.Name);
        Assert.Contains("(line 8, column 7)", toolError.Value[0].GetString(), StringComparison.Ordinal);
        var schemaErrors = (await HttpConformance<TStore>.AssertProblemAsync(badSchema, HttpStatusCode.BadRequest, "validation")).GetProperty("errors");
        Assert.True(schemaErrors.TryGetProperty("definition.output_schema", out _), schemaErrors.ToString());
        var missing = (await HttpConformance<TStore>.AssertProblemAsync(noDefinition, HttpStatusCode.BadRequest, "validation")).GetProperty("errors");
        Assert.True(missing.TryGetProperty("definition", out _), missing.ToString());
        var typeProblem = await HttpConformance<TStore>.AssertProblemAsync(wrongType, HttpStatusCode.BadRequest, "malformed-json");
        Assert.Equal((4L, 18L), (typeProblem.GetProperty("line").GetInt64(), typeProblem.GetProperty("column").GetInt64()));
        Assert.Contains("max_concurrency", typeProblem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notYaml.StatusCode);
        var nulProblem = await HttpConformance<TStore>.AssertProblemAsync(nul, HttpStatusCode.BadRequest, "malformed-json");
        Assert.Equal((4L, "Text may not contain the NUL character."), (nulProblem.GetProperty("line").GetInt64(), nulProblem.GetProperty("detail").GetString()));
        await HttpConformance<TStore>.AssertProblemAsync(nulJson, HttpStatusCode.BadRequest, "malformed-json");
        await using var db = fixture.Database();
        Assert.False(await db.Agents.AnyAsync(a => a.Name == "tool-mistake" || a.Name == "schema-mistake" || a.Name == "typed", Cancellation));
    }

    [Fact]
    public async Task Agents_in_the_definitions_directory_are_declared_at_start_and_a_broken_file_is_logged_with_its_place()
    {
        using var admin = await fixture.Api.AdminAsync();

        var greeter = await admin.GetFromJsonAsync<JsonElement>("/api/v1/agents/file-greeter", Cancellation);
        using var broken = await admin.GetAsync("/api/v1/agents/file-broken", Cancellation);
        var run = await fixture.RunAsync(admin, "file-greeter", "run", new { prompt = "hello" });

        Assert.Equal("greets", greeter.GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.NotFound, broken.StatusCode);
        Assert.Contains(fixture.Factory.Logs.Rendered, e => e.Contains("broken.yml", StringComparison.Ordinal)
            && e.Contains("definition.tools[1]", StringComparison.Ordinal) && e.Contains("(line 8, column 7)", StringComparison.Ordinal));
        Assert.True(run.GetProperty("status").GetString() == "completed", run.ToString());
        Assert.Equal(4, run.GetProperty("result").GetProperty("completion_tokens").GetInt64());
    }

    [Fact]
    public async Task An_answer_that_does_not_meet_the_output_schema_fails_the_task_instead_of_passing_it_on()
    {
        using var admin = await fixture.Api.AdminAsync();
        var name = await DeclareAsync(admin, new
        {
            model = "tiny",
            instructions = "Say how many.",
            max_tokens = 5,
            output_schema = new { type = "object", required = new[] { "count" }, properties = new { count = new { type = "integer" } } },
        });

        var task = await fixture.RunAsync(admin, name, "run", new { prompt = "how many?" });

        Assert.Equal("failed", task.GetProperty("status").GetString());
        Assert.Contains("does not meet the agent's output schema", task.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tool_call_runs_as_a_task_of_the_submitter_and_its_real_result_reaches_the_answer()
    {
        using var admin = await fixture.Api.AdminAsync();
        var name = await DeclareAsync(admin, new
        {
            model = ScriptedModelServer.Model,
            instructions = "Report on the machine.",
            tools = new[] { "system_metrics", "delegate", $"agent:{Coordinator}" },
            output_schema = new { type = "object", required = new[] { "status", "output" } },
        });
        var memTotal = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];

        var metrics = await fixture.RunAsync(admin, name, "run", new { prompt = "call system_metrics {}" });
        var asAgent = await fixture.RunAsync(admin, name, "run", new { prompt = $$$"""call {{{Coordinator}}} {"action":"ping","input":{"n":7}}""" });
        var delegated = await fixture.RunAsync(admin, name, "run", new { prompt = $$$"""call delegate {"agent":"{{{Coordinator}}}","action":"ping","input":{"n":3}}""" });

        Assert.True(metrics.GetProperty("status").GetString() == "completed", metrics.ToString());
        var output = metrics.GetProperty("result").GetProperty("output");
        Assert.Equal("completed", output.GetProperty("status").GetString());
        Assert.Equal(long.Parse(memTotal, System.Globalization.CultureInfo.InvariantCulture) * 1024, output.GetProperty("output").GetProperty("memory").GetProperty("total_bytes").GetInt64());
        var call = Assert.Single(metrics.GetProperty("result").GetProperty("tool_calls").EnumerateArray());
        var subTask = await fixture.WaitForAsync(admin, call.GetProperty("task_id").GetGuid(), TaskState.Completed);
        Assert.Equal(("hardware-resource-optimizer", "collect_metrics"), (subTask.GetProperty("agent").GetString(), subTask.GetProperty("action").GetString()));
        Assert.Equal(7, asAgent.GetProperty("result").GetProperty("output").GetProperty("output").GetProperty("echo").GetProperty("n").GetInt32());
        Assert.Equal(3, delegated.GetProperty("result").GetProperty("output").GetProperty("output").GetProperty("echo").GetProperty("n").GetInt32());
        // The model was offered the agent as a tool with its actions, and the round trips went through the gateway.
        var offered = fixture.Scripted.Requests.Last(r => r.TryGetProperty("tools", out _)).GetProperty("tools").EnumerateArray()
            .Single(t => t.GetProperty("function").GetProperty("name").GetString() == Coordinator);
        Assert.Contains("ping", offered.GetProperty("function").GetProperty("parameters").GetProperty("properties").GetProperty("action").GetProperty("enum").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(14, metrics.GetProperty("result").GetProperty("completion_tokens").GetInt64());
    }

    [Fact]
    public async Task A_tool_call_has_only_the_submitters_permissions()
    {
        var (_, developer, _) = await fixture.Api.SignedInUserAsync("developer");
        var name = await DeclareAsync(developer, new { model = ScriptedModelServer.Model, instructions = "Report on the machine.", tools = new[] { "system_metrics" } });

        var task = await fixture.RunAsync(developer, name, "run", new { prompt = "call system_metrics {}" });

        Assert.True(task.GetProperty("status").GetString() == "completed", task.ToString());
        var call = Assert.Single(task.GetProperty("result").GetProperty("tool_calls").EnumerateArray());
        Assert.Equal(("refused", JsonValueKind.Null), (call.GetProperty("status").GetString(), call.GetProperty("task_id").ValueKind));
        Assert.Contains("system:monitor", call.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("system:monitor", task.GetProperty("result").GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tools_on_a_model_that_cannot_call_functions_fail_the_task_saying_so()
    {
        using var admin = await fixture.Api.AdminAsync();
        var name = await DeclareAsync(admin, new { model = "tiny", instructions = "Report.", tools = new[] { "system_metrics" } });

        var task = await fixture.RunAsync(admin, name, "run", new { prompt = "how is the machine?" });

        Assert.Equal("failed", task.GetProperty("status").GetString());
        Assert.Contains("does not do function calling", task.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_specialist_generates_chats_embeds_and_lists_models_through_the_gateway()
    {
        var (user, developer, _) = await fixture.Api.SignedInUserAsync("developer");

        var generated = await fixture.ResultOfAsync(developer, Specialist, "generate", new { prompt = "once upon a time", max_tokens = 5, temperature = 0 });
        var chatted = await fixture.ResultOfAsync(developer, Specialist, "chat", new { messages = new[] { new { role = "user", content = "once upon a time" } }, max_tokens = 5, temperature = 0 });
        var other = await fixture.ResultOfAsync(developer, Specialist, "generate", new { prompt = "the stock market", max_tokens = 5, temperature = 0 });
        var embedded = await fixture.ResultOfAsync(developer, Specialist, "embed", new { input = new[] { "cat", "dog", "cat" } });
        var models = await fixture.ResultOfAsync(developer, Specialist, "list_models");
        var badRole = await fixture.RunAsync(developer, Specialist, "chat", new { messages = new[] { new { role = "wizard", content = "hi" } } });
        var unknown = await fixture.RunAsync(developer, Specialist, "generate", new { prompt = "hi", model = "no-such-model" });
        var nul = await fixture.ResultOfAsync(developer, Specialist, "generate", new { prompt = "say nul", model = ScriptedModelServer.Model });

        Assert.Equal(("tiny", 5L), (generated.GetProperty("model").GetString(), generated.GetProperty("completion_tokens").GetInt64()));
        Assert.Equal(generated.GetProperty("response").GetString(), chatted.GetProperty("response").GetString());
        Assert.NotEqual(generated.GetProperty("response").GetString(), other.GetProperty("response").GetString());
        var vectors = embedded.GetProperty("embeddings").EnumerateArray().Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToList();
        Assert.Equal(3, vectors.Count);
        Assert.Equal(vectors[0], vectors[2]);
        Assert.NotEqual(vectors[0], vectors[1]);
        Assert.Equal("tiny", models.GetProperty("default_model").GetString());
        Assert.Contains(models.GetProperty("models").EnumerateArray(), m => m.GetProperty("name").GetString() == ScriptedModelServer.Model && m.GetProperty("backend").GetString() == "scripted");
        Assert.Contains("messages[0]", badRole.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("no-such-model", unknown.GetProperty("error").GetString(), StringComparison.Ordinal);
        // A NUL the model produced arrives as U+FFFD, so the answer could be stored on every store.
        Assert.Equal("before\uFFFDafter", nul.GetProperty("response").GetString());

        await using var db = await fixture.DatabaseWithRecordsAsync();
        var recorded = await db.ChatHistory.AsNoTracking().Where(c => c.UserId == user.Id).Select(c => new { c.AgentUsed, c.Operation, c.TaskId }).ToListAsync(Cancellation);
        Assert.Equal(5, recorded.Count);
        Assert.All(recorded, r => Assert.Equal((Specialist, true), (r.AgentUsed, r.TaskId is not null)));
        Assert.Single(recorded, r => r.Operation == "embed");
    }

    [Fact]
    public async Task The_specialist_switches_the_default_only_for_model_managers_and_pulls_with_progress()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (_, developer, _) = await fixture.Api.SignedInUserAsync("developer");

        using var denied = await developer.PostAsJsonAsync("/api/v1/tasks", new { title = "switch", agent = Specialist, action = "switch_model", input = new { model = ScriptedModelServer.Model } }, Cancellation);
        var switched = await fixture.ResultOfAsync(admin, Specialist, "switch_model", new { model = ScriptedModelServer.Model });
        var answered = await fixture.ResultOfAsync(admin, Specialist, "generate", new { prompt = "who answers?" });
        var back = await fixture.ResultOfAsync(admin, Specialist, "switch_model", new { model = "tiny" });
        var pulled = await fixture.ResultOfAsync(admin, Specialist, "pull_model", new { model = "pulled-model:1b" });
        var models = await fixture.ResultOfAsync(admin, Specialist, "list_models");
        var missing = await fixture.RunAsync(admin, Specialist, "pull_model", new { model = "missing-model" });
        using var streamed = await admin.PostAsJsonAsync("/api/v1/models/pull", new { model = "streamed-model:2b" }, Cancellation);
        var events = await streamed.Content.ReadAsStringAsync(Cancellation);

        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Contains("model:manage", await denied.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        Assert.Equal(("scripted", "tiny"), (switched.GetProperty("default_model").GetString(), switched.GetProperty("previous").GetString()));
        Assert.Equal(("scripted", "echo: who answers?"), (answered.GetProperty("model").GetString(), answered.GetProperty("response").GetString()));
        Assert.Equal("tiny", back.GetProperty("default_model").GetString());
        Assert.Equal(("ollama", "success"), (pulled.GetProperty("backend").GetString(), pulled.GetProperty("status").GetString()));
        var stages = pulled.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(["pulling manifest", "pulling 0a1b", "verifying sha256 digest", "writing manifest", "success"], stages.Select(p => p.GetProperty("status").GetString()).ToList());
        Assert.Equal((1000, 1000), (stages[1].GetProperty("completed").GetInt64(), stages[1].GetProperty("total").GetInt64()));
        Assert.Contains(models.GetProperty("models").EnumerateArray(), m => m.GetProperty("name").GetString() == "pulled-model:1b" && m.GetProperty("backend").GetString() == "ollama");
        Assert.Equal("failed", missing.GetProperty("status").GetString());
        Assert.Contains("file does not exist", missing.GetProperty("error").GetString(), StringComparison.Ordinal);
        // The API's pull streams the same progress as server-sent events, then names what it pulled where.
        Assert.Contains("event: progress\ndata: {\"status\":\"pulling 0a1b\",\"digest\":\"sha256:0a1b\",\"total\":1000,\"completed\":600}", events, StringComparison.Ordinal);
        Assert.Contains("event: done\ndata: {\"model\":\"streamed-model:2b\",\"backend\":\"ollama\"}", events, StringComparison.Ordinal);
        Assert.Contains("streamed-model:2b", fixture.Scripted.Pulled);
    }
    [Fact]
    public async Task The_orchestrator_runs_a_pipeline_whose_steps_feed_each_other_and_fall_back_when_one_fails()
    {
        var (user, developer, _) = await fixture.Api.SignedInUserAsync("developer");
        string[] categories = ["category-one-zz", "category-two-zz"];
        object Pipeline(string onFailure, string lastTemplate) => new
        {
            name = "review",
            input = "a quiet harbour at dawn",
            on_failure = onFailure,
            steps = new object[]
            {
                new { name = "summary", type = "llm_generate", model = "tiny", prompt_template = "Summarize: {input}", parameters = new { temperature = 0, max_tokens = 6 }, output_key = "summary" },
                new { name = "echo", type = "llm_generate", model = ScriptedModelServer.Model, prompt_template = "again: {results.summary}" },
                new { name = "robust", type = "llm_generate", model = "missing-model", prompt_template = "{input}", parameters = new { temperature = 0, max_tokens = 3 }, fallbacks = new[] { new { model = "tiny" } } },
                new { name = "label", type = "classify", model = "tiny", text_key = "robust", categories, fallbacks = new[] { new { method = "embedding" } } },
                new { name = "both", type = "aggregate", inputs = new[] { "summary", "echo" }, method = "concat" },
                new { name = "last", type = "llm_generate", model = "tiny", prompt_template = lastTemplate },
            },
        };

        var run = await fixture.RunAsync(developer, Orchestrator, "run_pipeline", Pipeline("stop", "{{literal}} {summary}"));
        var stopped = await fixture.RunAsync(developer, Orchestrator, "run_pipeline", Pipeline("stop", "{nowhere}"));
        var continued = await fixture.RunAsync(developer, Orchestrator, "run_pipeline", Pipeline("continue", "{nowhere}"));

        Assert.True(run.GetProperty("status").GetString() == "completed", run.ToString());
        var results = run.GetProperty("result").GetProperty("results");
        var summary = results.GetProperty("summary").GetString()!;
        Assert.Equal($"echo: again: {summary}", results.GetProperty("echo").GetString());
        Assert.Equal($"{summary}\necho: again: {summary}", results.GetProperty("both").GetString());
        var steps = run.GetProperty("result").GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal(["failed", "completed"], steps["robust"].GetProperty("tries").EnumerateArray().Select(t => t.GetProperty("status").GetString()).ToList());
        Assert.Contains("missing-model", steps["robust"].GetProperty("tries")[0].GetProperty("error").GetString(), StringComparison.Ordinal);
        // The tiny model names no category, so the classification fell back to embeddings, which score both.
        var label = results.GetProperty("label");
        Assert.Equal("embedding", label.GetProperty("method").GetString());
        Assert.Contains(label.GetProperty("category").GetString(), categories);
        Assert.Equal(categories.Order(), label.GetProperty("scores").EnumerateObject().Select(p => p.Name).Order());
        Assert.Contains("names none of the categories", steps["label"].GetProperty("tries")[0].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("failed", stopped.GetProperty("status").GetString());
        Assert.Contains("stopped at step 'last': step 'last' refers to 'nowhere'", stopped.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("completed", continued.GetProperty("status").GetString());
        Assert.Equal(["last"], continued.GetProperty("result").GetProperty("failed_steps").EnumerateArray().Select(f => f.GetString()).ToList());

        await using var db = await fixture.DatabaseWithRecordsAsync();
        var taskId = run.GetProperty("id").GetGuid();
        var calls = await db.ChatHistory.AsNoTracking().Where(c => c.TaskId == taskId).Select(c => new { c.AgentUsed, c.Operation, c.UserId }).ToListAsync(Cancellation);
        Assert.All(calls, c => Assert.Equal((Orchestrator, user.Id), (c.AgentUsed, c.UserId)));
        Assert.Equal(["chat", "chat", "chat", "chat", "chat", "embed"], calls.Select(c => c.Operation).Order().ToList());
    }
    [Fact]
    public async Task Prometheus_and_the_metrics_exporter_show_the_calls_and_the_cache_hits_that_happened()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (_, developer, _) = await fixture.Api.SignedInUserAsync("developer");
        // The sample of this server's metric with (at least) these labels.
        async Task<double> ScrapeAsync(string metric, params string[] labels)
        {
            labels = [.. labels, $"node=\"{fixture.Factory.NodeName}\""];
            var text = await admin.GetStringAsync("/metrics", Cancellation);
            var line = text.Split('\n').SingleOrDefault(l => l.StartsWith(metric + "{", StringComparison.Ordinal) && labels.All(label => l.Contains(label, StringComparison.Ordinal)));
            Assert.True(line is not null, $"no {metric} with {string.Join(",", labels)} in:\n{text}");
            return double.Parse(line.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture);
        }

        var hitsBefore = await ScrapeAsync("ai_model_cache_hits_total");
        var question = new { message = $"count the cache {Guid.NewGuid():N}", temperature = 0, max_tokens = 3 };
        await admin.PostAsJsonAsync("/api/v1/chat", question, Cancellation).SucceededAsync(fixture.Factory.Logs);
        await admin.PostAsJsonAsync("/api/v1/chat", question, Cancellation).SucceededAsync(fixture.Factory.Logs);
        var hitsAfter = await ScrapeAsync("ai_model_cache_hits_total");
        var ratio = await ScrapeAsync("ai_model_cache_hit_ratio");
        var cachedAnswers = await ScrapeAsync("ai_model_requests_total", "backend=\"llamacpp\"", "cached=\"true\"", "model=\"tiny\"", "operation=\"chat\"");
        using var denied = await developer.GetAsync("/metrics", Cancellation);
        var exported = (await fixture.ResultOfAsync(admin, "ai-metrics-exporter", "export_metrics")).GetProperty("text").GetString()!;
        var models = await fixture.ResultOfAsync(admin, "ai-metrics-exporter", "model_metrics", new { since_minutes = 0 });

        Assert.Equal(hitsBefore + 1, hitsAfter);
        Assert.InRange(ratio, double.Epsilon, 1);
        Assert.True(cachedAnswers >= 1);
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        await using var db = await fixture.DatabaseWithRecordsAsync();
        var tinyCalls = await db.ChatHistory.CountAsync(c => c.Model == "tiny", Cancellation);
        Assert.Contains($"ai_model_requests_total{{model=\"tiny\"}} {tinyCalls}\n", exported, StringComparison.Ordinal);
        Assert.Contains("ai_agent_up{agent=\"ai-metrics-exporter\"} 1\n", exported, StringComparison.Ordinal);
        Assert.Equal(tinyCalls, models.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("model").GetString() == "tiny").GetProperty("calls").GetInt64());
        Assert.Equal(hitsAfter, models.GetProperty("cache").GetProperty("hits").GetDouble());
    }
}

public sealed class SqliteLlmAgentTests(LlmAgentFixture<SqliteTestStore> fixture) : LlmAgentConformance<SqliteTestStore>(fixture);

public sealed class PostgreSqlLlmAgentTests(LlmAgentFixture<PostgreSqlTestStore> fixture) : LlmAgentConformance<PostgreSqlTestStore>(fixture);
