using Acd.Core.Configuration;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Hotline;

/// <summary>The callback book alone, without a router: owing, merging, due order, attempts and back-off, exhaustion, its snapshot and invariant.</summary>
public sealed class CallbackBookTests
{
    private const long T0 = 1_793_581_200_000;
    private static readonly string[] Skills = ["general", "complaint"];

    private static CallbackBook Book(int maxAttempts = 3, int maxOpen = 100, bool enabled = true)
    {
        var config = new CentreBuilder().Skill("general").Skill("complaint")
            .With(o => o.Callbacks = new CallbackOptions { Enabled = enabled, MaxAttempts = maxAttempts, RetryBackoffSeconds = [60, 300], OutcomeTimeoutSeconds = 900, MaxOpen = maxOpen, EscalationMinutes = 10 })
            .Build();
        return new CallbackBook("book", config.Hotline, Skills, agent => $"agent-{agent}");
    }

    private static void AssertConsistent(CallbackBook book)
    {
        var problems = new List<string>();
        book.Check(problems);
        Assert.Empty(problems);
    }

    [Fact]
    public void A_caller_is_owed_one_callback_later_calls_merge_and_a_full_book_drops()
    {
        var book = Book(maxOpen: 2);
        var first = book.Owe("13800000001", 0, "abandoned", T0)!;
        Assert.Equal(("cb-1@book", CallbackState.Open, T0), (first.Id, first.State, first.CreatedMs));
        Assert.Null(book.Owe("13800000001", 1, "timed-out", T0 + 1000)); // merged: the earliest is kept
        Assert.NotNull(book.Owe("13800000002", 1, "rejected", T0 + 2000));
        Assert.Null(book.Owe("13800000003", 0, "abandoned", T0 + 3000)); // full
        Assert.Null(book.Owe(null, 0, "abandoned", T0));
        Assert.Null(book.Owe(string.Empty, 0, "abandoned", T0));
        Assert.Equal(new CallbackTotals(2, 1, 0, 0, 0, 1, 2), book.Figures);
        Assert.Equal(2, book.DueCount);
        Assert.Null(Book(enabled: false).Owe("13800000001", 0, "abandoned", T0));
        AssertConsistent(book);
    }

    [Fact]
    public void The_oldest_due_callback_comes_first_among_the_skills_asked_and_escalation_filters_by_age()
    {
        var book = Book();
        var newer = book.Owe("1", 0, "abandoned", T0 + 5000)!;
        var older = book.Owe("2", 1, "abandoned", T0)!;
        Assert.Equal(2, book.DueCount);
        Assert.Same(older, book.OldestDue([], allSkills: true));
        Assert.Same(newer, book.OldestDue([new Membership { Skill = 0, Level = 5 }], allSkills: false));
        Assert.Null(book.OldestDue([new Membership { Skill = 0, Level = 5 }], allSkills: false, escalatedBefore: T0 + 4999));
        Assert.Same(older, book.OldestDue([], allSkills: true, escalatedBefore: T0));
        AssertConsistent(book);
    }

    [Fact]
    public void An_unreached_callback_is_retried_after_the_back_off_then_exhausted_when_the_attempts_run_out()
    {
        var book = Book(maxAttempts: 2);
        var task = book.Owe("1", 0, "abandoned", T0)!;
        Assert.Equal(1, book.DueCount); // due at once
        book.Assign(task, agent: 7, T0 + 1000);
        Assert.Equal((CallbackState.Assigned, 1, 7, 0), (task.State, task.Attempts, task.Agent, book.DueCount));
        Assert.Equal(T0 + 1000 + 900_000, book.NextTimer.DueMs); // the outcome is awaited at most 15 minutes

        Assert.Equal(60_000, book.NotReached(task, T0 + 2000));
        Assert.Equal((CallbackState.Open, -1), (task.State, task.Agent));
        Assert.Equal(T0 + 62_000, book.NextTimer.DueMs);
        Assert.Same(task, book.PopTimer());
        book.MakeDue(task);
        book.Assign(task, agent: 3, T0 + 62_000);

        Assert.Null(book.NotReached(task, T0 + 63_000)); // second attempt: out of attempts
        Assert.Equal(CallbackState.Exhausted, book.Get(task.Id)!.State);
        Assert.Null(book.Find(task.Id));
        Assert.Equal(long.MaxValue, book.NextTimer.DueMs);
        Assert.Equal(new CallbackTotals(1, 0, 0, 1, 0, 0, 0), book.Figures);
        AssertConsistent(book);
    }

    [Fact]
    public void Reached_and_cancelled_callbacks_close_and_stay_listed_among_the_recently_closed()
    {
        var book = Book();
        var a = book.Owe("1", 0, "abandoned", T0)!;
        var b = book.Owe("2", 0, "abandoned", T0 + 1)!;
        book.Assign(a, 4, T0 + 10);
        book.Reached(a);
        book.Cancel(b);
        Assert.Equal(CallbackState.Completed, book.Get(a.Id)!.State);
        Assert.Equal("agent-4", book.Get(a.Id)!.AgentId);
        Assert.Equal(CallbackState.Cancelled, book.Get(b.Id)!.State);
        Assert.Empty(book.List(closedToo: false, int.MaxValue, 0));
        Assert.Equal([a.Id, b.Id], book.List(closedToo: true, int.MaxValue, 0).Select(c => c.CallbackId));
        AssertConsistent(book);
    }

    [Fact]
    public void Open_callbacks_are_listed_oldest_first_a_page_at_a_time()
    {
        var book = Book();
        for (var i = 1; i <= 5; i++)
        {
            book.Owe($"{i}", 0, "abandoned", T0 + i);
        }

        Assert.Equal(["cb-1@book", "cb-2@book"], book.List(false, 2, 0).Select(c => c.CallbackId));
        book.Cancel(book.Find("cb-3@book")!);
        Assert.Equal(["cb-4@book", "cb-5@book"], book.List(false, 2, 2).Select(c => c.CallbackId));
        Assert.Equal(["cb-4@book", "cb-5@book"], book.List(false, 2, 3).Select(c => c.CallbackId)); // resumes after a closed one
    }

    [Fact]
    public void A_book_written_and_read_back_is_the_same_book()
    {
        var book = Book();
        var due = book.Owe("1", 0, "abandoned", T0)!;
        var assigned = book.Owe("2", 1, "timed-out", T0 + 1)!;
        var waiting = book.Owe("3", 1, "rejected", T0 + 2)!;
        book.Assign(assigned, 2, T0 + 3);
        book.Assign(waiting, 5, T0 + 4);
        book.NotReached(waiting, T0 + 5);
        book.Reached(assigned);

        var w = new StateWriter();
        book.Write(w);
        var copy = Book();
        var r = new StateReader(w.WrittenMemory.ToArray());
        copy.Read(r, agents: 10);
        Assert.True(r.AtEnd);
        Assert.Equal(book.List(true, int.MaxValue, 0), copy.List(true, int.MaxValue, 0));
        Assert.Equal(book.Figures, copy.Figures);
        Assert.Equal(book.NextTimer, copy.NextTimer);
        Assert.Equal(book.DueCount, copy.DueCount);
        AssertConsistent(copy);

        // Read back, it behaves the same: the next callback owed is numbered after the last.
        Assert.Equal("cb-4@book", copy.Owe("4", 0, "abandoned", T0 + 6)!.Id);
    }
}
