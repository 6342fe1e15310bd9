namespace LocalLlm.Guardrails.Tests;

public class EditedTextTests
{
    [Fact]
    public void Apply_SeveralEdits_ProducesTheEditedText()
    {
        var text = new EditedText("call 555 or mail a@b.io now");
        text.Apply([new TextEdit(5, 3, "[P]"), new TextEdit(17, 6, "[E]")]);
        Assert.Equal("call [P] or mail [E] now", text.Text);
        Assert.True(text.IsEdited);
    }

    [Fact]
    public void Apply_SecondEditOverlappingAnEarlierOne_AbsorbsIt()
    {
        var text = new EditedText("abcdefghij");
        text.Apply([new TextEdit(2, 3, "X")]);   // ab X fghij
        text.Apply([new TextEdit(1, 3, "Y")]);   // covers "bXf"
        Assert.Equal("aYghij", text.Text);
        Assert.Equal("a", text.OutputBefore(2)); // the merged edit spans source 1..6
        Assert.Equal("aY", text.OutputBefore(6));
    }

    [Fact]
    public void OutputBefore_CutInsideAnEdit_HoldsTheWholeEdit()
    {
        var text = new EditedText("mail jane@x.org today");
        text.Apply([new TextEdit(5, 10, "[EMAIL]")]);
        Assert.Equal("mail ", text.OutputBefore(9));
        Assert.Equal("mail [EMAIL] to", text.OutputBefore(18));
    }

    [Fact]
    public void Apply_OverlappingEdits_Throws()
    {
        var text = new EditedText("abcdef");
        Assert.Throws<ArgumentException>(() => text.Apply([new TextEdit(0, 3, "x"), new TextEdit(2, 2, "y")]));
        Assert.Throws<ArgumentException>(() => text.Apply([new TextEdit(5, 3, "x")]));
    }

    [Fact]
    public void Apply_Insertion_KeepsSurroundingText()
    {
        var text = new EditedText("abc");
        text.Apply([new TextEdit(1, 0, "-")]);
        Assert.Equal("a-bc", text.Text);
    }
}
