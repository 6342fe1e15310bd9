using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LocalLlm.Guardrails.Tests;

public class GuardrailsContextAndArgumentTests
{
    private sealed class MarkerContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => ThreadPool.QueueUserWorkItem(_ =>
        {
            SetSynchronizationContext(this);
            d(state);
        });
    }

    // A check that really goes asynchronous, so a stage using ConfigureAwait(false) would lose the context.
    private sealed class YieldingCheck : IGuardrailCheck
    {
        public string Name => "yield";

        public async ValueTask<GuardrailVerdict> CheckAsync(GuardrailContext context, CancellationToken cancellationToken = default)
        {
            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            return GuardrailVerdict.Allow;
        }
    }

    private static Task<T> RunUnder<T>(SynchronizationContext context, Func<Task<T>> action)
    {
        var done = new TaskCompletionSource<T>();
        context.Post(async _ =>
        {
            try { done.SetResult(await action()); }
            catch (Exception ex) { done.SetException(ex); }
        }, null);
        return done.Task;
    }

    [Fact]
    public async Task GetResponseAsync_SynchronizationContextFlowsToInnerClient()
    {
        var context = new MarkerContext();
        SynchronizationContext? seen = null;
        var inner = new FakeChatClient
        {
            GetResponseAsyncCallback = (_, _, _) =>
            {
                seen = SynchronizationContext.Current;
                return Task.FromResult(FakeChatClient.Reply("ok"));
            },
        };
        var client = new GuardrailsChatClient(inner, new GuardrailsOptions().AddInputCheck(new YieldingCheck()).AddOutputCheck(new YieldingCheck()));

        await RunUnder(context, () => client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]));

        Assert.Same(context, seen);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_SynchronizationContextFlowsToInnerClient()
    {
        var context = new MarkerContext();
        SynchronizationContext? seen = null;
        var inner = new FakeChatClient
        {
            GetStreamingResponseAsyncCallback = (_, _, ct) =>
            {
                seen = SynchronizationContext.Current;
                return FakeChatClient.Chunks(ct, "ok");
            },
        };
        var client = new GuardrailsChatClient(inner, new GuardrailsOptions().AddInputCheck(new YieldingCheck()).AddOutputCheck(new YieldingCheck()));

        await RunUnder(context, () => client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")]).ToChatResponseAsync());

        Assert.Same(context, seen);
    }

    [Fact]
    public void Constructor_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("innerClient", () => new GuardrailsChatClient(null!, new GuardrailsOptions()));
        Assert.Throws<ArgumentNullException>("options", () => new GuardrailsChatClient(new FakeChatClient(), null!));
    }

    [Fact]
    public void UseGuardrails_NullBuilder_Throws() =>
        Assert.Throws<ArgumentNullException>("builder", () => ((ChatClientBuilder)null!).UseGuardrails());

    [Fact]
    public void AddGuardrails_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("services", () => ((IServiceCollection)null!).AddGuardrails(_ => { }));
        Assert.Throws<ArgumentNullException>("configure", () => new ServiceCollection().AddGuardrails(null!));
    }

    [Fact]
    public async Task GetResponseAsync_NullMessages_Throws()
    {
        var client = new GuardrailsChatClient(new FakeChatClient(), new GuardrailsOptions());
        await Assert.ThrowsAsync<ArgumentNullException>("messages", () => client.GetResponseAsync(null!));
        await Assert.ThrowsAsync<ArgumentNullException>("messages", async () => await client.GetStreamingResponseAsync(null!).ToChatResponseAsync());
    }

    [Fact]
    public void Options_NullCheckAndBadPolicy_Throw()
    {
        var options = new GuardrailsOptions();
        Assert.Throws<ArgumentNullException>("check", () => options.AddInputCheck(null!));
        Assert.Throws<ArgumentNullException>("check", () => options.AddOutputCheck(null!));
        Assert.Throws<ArgumentException>("action", () => options.SetPolicy("x", GuardrailAction.Allow));
        Assert.Throws<ArgumentException>("category", () => options.SetPolicy(" ", GuardrailAction.Block));
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsNamingEachSetting()
    {
        var options = new GuardrailsOptions { HoldbackCharacters = 0, DefaultFallback = "" };
        options.Policies["pii"] = new GuardrailPolicy();

        var ex = Assert.Throws<ArgumentException>("options", () => new GuardrailsChatClient(new FakeChatClient(), options));

        Assert.Contains("Guardrails:HoldbackCharacters is 0", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Guardrails:DefaultFallback is empty", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Guardrails:Policies:pii has no action", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddGuardrails_UseGuardrailsWithoutCallback_UsesRegisteredOptions()
    {
        var services = new ServiceCollection();
        services.AddGuardrails(g => g.AddInputCheck(FakeCheck.RejectWord("bomb", "weapons")));
        services.AddChatClient(new FakeChatClient()).UseGuardrails();
        using var provider = services.BuildServiceProvider();

        var response = await provider.GetRequiredService<IChatClient>().GetResponseAsync([new ChatMessage(ChatRole.User, "bomb")]);

        Assert.Equal(ChatFinishReason.ContentFilter, response.FinishReason);
    }

    [Fact]
    public void AddGuardrails_InvalidOptions_FailValidationWithClearMessage()
    {
        var services = new ServiceCollection();
        services.AddGuardrails(g => g.HoldbackCharacters = -1);
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<GuardrailsOptions>>().Value);
        Assert.Contains("Guardrails:HoldbackCharacters is -1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseGuardrails_NoCallbackAndNoRegistration_ThrowsWithFix()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new ChatClientBuilder(new FakeChatClient()).UseGuardrails().Build(new ServiceCollection().BuildServiceProvider()));
        Assert.Contains("AddGuardrails", ex.Message, StringComparison.Ordinal);
    }
}
