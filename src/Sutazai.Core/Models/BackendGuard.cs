using System.Net;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Sutazai.Core.Models;

/// <summary>
/// One backend's protection: transient failures are tried again with a growing, jittered wait; a circuit breaker
/// stops calling a backend that keeps failing and lets one call through after a pause. Remembers what
/// <c>/health</c> reports: the circuit, the last success and the last failure.
/// </summary>
public sealed class BackendGuard
{
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeProvider _time;
    private Failure? _lastFailure;

    public BackendGuard(string backend, ModelOptions options, TimeProvider time)
    {
        Backend = backend;
        _time = time;
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (options.Retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                MaxRetryAttempts = options.Retries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(options.RetryDelayMilliseconds),
            });
        }

        _pipeline = builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                // A model file that is not there is a configuration fault of one model, not the backend failing.
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => IsBackendFailure(e) && e is not FileNotFoundException),
                FailureRatio = options.CircuitFailureRatio,
                MinimumThroughput = options.CircuitMinimumCalls,
                SamplingDuration = TimeSpan.FromSeconds(options.CircuitSamplingSeconds),
                BreakDuration = TimeSpan.FromSeconds(options.CircuitBreakSeconds),
                StateProvider = _circuit,
            })
            .Build();
    }

    public string Backend { get; }

    /// <summary><c>closed</c> (calls go through), <c>open</c> (refused at once), <c>half-open</c> (one call tries).</summary>
    public string Circuit => _circuit.CircuitState switch
    {
        CircuitState.Closed => "closed",
        CircuitState.Open or CircuitState.Isolated => "open",
        _ => "half-open",
    };

    public string? LastError => Volatile.Read(ref _lastFailure)?.Error;

    public DateTimeOffset? LastFailureAt => Volatile.Read(ref _lastFailure)?.At;

    /// <summary>Runs one attempt after another until one succeeds, a failure is not transient, or retries run out.</summary>
    public async ValueTask<T> ExecuteAsync<T>(Func<CancellationToken, ValueTask<T>> attempt, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(attempt, cancellationToken);
        }
        catch (Exception e) when (IsBackendFailure(e))
        {
            Volatile.Write(ref _lastFailure, new Failure(e.Message, _time.GetUtcNow()));
            throw;
        }
    }

    /// <summary>
    /// The backend failed, or its circuit is open (as opposed to the caller asking for something wrong, or giving
    /// up). A circuit never sees its own refusals, so this also serves as what the circuit counts.
    /// </summary>
    public static bool IsBackendFailure(Exception e) =>
        e is not (OperationCanceledException and not TaskCanceledException { InnerException: TimeoutException })
            and not ArgumentException
            and not NotSupportedException
            and not UnknownModelException
            and not ModelBusyException;

    /// <summary>Worth trying again: the backend could not be reached, answered 5xx or 429, or gave no answer in time.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        BrokenCircuitException => false,
        TimeoutException => true,
        HttpRequestException { StatusCode: null } => true,
        HttpRequestException { StatusCode: { } status } => (int)status >= 500 || status == HttpStatusCode.TooManyRequests,
        IOException and not FileNotFoundException and not DirectoryNotFoundException => true,
        _ => e.InnerException is { } inner && IsTransient(inner),
    };

    /// <summary>The last failure, kept as one object so readers never see the message of one and the time of another.</summary>
    private sealed record Failure(string Error, DateTimeOffset At);
}
