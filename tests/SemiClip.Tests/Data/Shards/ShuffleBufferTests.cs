using SemiClip.Data.Shards;

namespace SemiClip.Tests.Data.Shards;

public class ShuffleBufferTests
{
    [Fact]
    public void EmitsEveryItemOnceAndNoItemMoreThanTheCapacityEarlierThanItArrived()
    {
        var input = Enumerable.Range(0, 1000).ToList();
        const int capacity = 50;
        var output = ShuffleBuffer.Shuffle(input, capacity, new Random(3)).ToList();
        Assert.Equal(input, output.Order());
        Assert.NotEqual(input, output);
        // Item p arrives when output position p − capacity is emitted, so it can only leave after that.
        for (int position = 0; position < output.Count; position++)
            Assert.True(
                position > output[position] - capacity,
                $"item {output[position]} left at {position}, before it could have arrived"
            );
        // Bounded: the first `capacity` outputs come from the first 2·capacity inputs, not from anywhere.
        Assert.All(output.Take(capacity), item => Assert.True(item < 2 * capacity));
    }

    [Fact]
    public void TheSameRandomStreamGivesTheSameOrderAndCapacityOneKeepsTheInputOrder()
    {
        var input = Enumerable.Range(0, 200).ToList();
        Assert.Equal(ShuffleBuffer.Shuffle(input, 16, new Random(9)), ShuffleBuffer.Shuffle(input, 16, new Random(9)));
        Assert.NotEqual(
            ShuffleBuffer.Shuffle(input, 16, new Random(9)),
            ShuffleBuffer.Shuffle(input, 16, new Random(10))
        );
        Assert.Equal(input, ShuffleBuffer.Shuffle(input, 1, new Random(9)));
    }
}
