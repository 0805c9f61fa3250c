"""The data module: seeded batches rendered on the fly, standardised, resumable."""

import pytest
import torch

from overlapvae.data import GroundTruthDataModule, XYObject, XYSquares


def test_batches_are_standardised_images_with_their_factors():
    data = XYSquares()
    module = GroundTruthDataModule(data, standardise=True, batch_size=32, seed=0)
    images, factors = module.on_after_batch_transfer(0, 0)
    assert images.shape == (32, 3, 64, 64) and images.dtype == torch.float32
    assert factors.shape == (32, 6) and factors.dtype == torch.long
    assert torch.equal(images, data.render_standardised(factors))
    # every XYSquares image has 64 lit pixels per channel: per image, mean 0 and std (ddof=1) 1
    per_image = images.flatten(2)
    assert torch.allclose(per_image.mean(dim=2), torch.zeros(32, 3), atol=1e-5)
    assert torch.allclose(per_image.std(dim=2), torch.ones(32, 3), atol=1e-5)


def test_unstandardised_batches_lie_in_the_unit_interval():
    module = GroundTruthDataModule(XYObject(), batch_size=16, standardise=False)
    images, factors = module.sample_batch()
    assert torch.equal(images, module.data.render(factors).float() / 255)


def test_same_seed_same_stream_and_different_seed_different_stream():
    def stream(seed):
        module = GroundTruthDataModule(XYSquares(), standardise=True, batch_size=8, seed=seed)
        return torch.cat([module.sample_batch()[1] for _ in range(3)])

    assert torch.equal(stream(1), stream(1))
    assert not torch.equal(stream(1), stream(2))


def test_state_dict_resumes_the_stream_where_it_stopped():
    module = GroundTruthDataModule(XYSquares(), standardise=True, batch_size=8, seed=5)
    module.sample_batch()
    state = module.state_dict()
    expected = module.sample_batch()[1]
    resumed = GroundTruthDataModule(XYSquares(), standardise=True, batch_size=8, seed=5)
    resumed.load_state_dict(state)
    assert torch.equal(resumed.sample_batch()[1], expected)


def test_an_epoch_is_one_data_set_worth_of_steps_by_default():
    assert GroundTruthDataModule(XYSquares(), True, batch_size=256).steps_per_epoch == 1024
    assert (
        len(GroundTruthDataModule(XYObject(), True, batch_size=256, steps_per_epoch=7).train_dataloader())
        == 7
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"batch_size": 0}, "batch_size=0"), ({"steps_per_epoch": 0}, "steps_per_epoch=0")],
)
def test_invalid_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GroundTruthDataModule(XYSquares(), standardise=True, **kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_rendering_on_cuda_matches_the_cpu():
    data = XYSquares(grid_spacing=3)
    factors = data.sample_factors(64, torch.Generator().manual_seed(0))
    assert torch.equal(data.render(factors.cuda()).cpu(), data.render(factors))
    assert torch.allclose(
        data.render_standardised(factors.cuda()).cpu(), data.render_standardised(factors), atol=1e-5
    )
