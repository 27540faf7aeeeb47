"""The smallest complete torchlite training loop: a 2-class MLP on synthetic data.

    python examples/mlp.py
"""
import torchlite as torch
import torchlite.nn as nn
import torchlite.nn.functional as F

torch.manual_seed(0)

# Points in 2-D, labelled 1 outside the circle of radius 1.18 (about half of them): not linearly separable.
def make_data(n):
    x = torch.randn(n, 2)
    y = (x.norm(dim=1) > 1.18).long()
    return x, y

x_train, y_train = make_data(512)
x_test, y_test = make_data(256)

model = nn.Sequential(
    nn.Linear(2, 32),
    nn.ReLU(),
    nn.Linear(32, 32),
    nn.ReLU(),
    nn.Linear(32, 2),
)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)

batch_size, steps = 64, 200
for step in range(1, steps + 1):
    idx = torch.randint(0, x_train.shape[0], (batch_size,))
    logits = model(x_train[idx])
    loss = F.cross_entropy(logits, y_train[idx])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step == 1 or step % 20 == 0:
        print(f"step {step:4d}  loss {loss.item():.4f}")

model.eval()
with torch.no_grad():
    test_loss = F.cross_entropy(model(x_test), y_test).item()
    accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
print(f"final test loss {test_loss:.4f}  accuracy {accuracy:.3f}")
