-- Knowledge distillation (000_7ab6c8be6403b5e4.txt Q3 (الف), (ب); the same
-- slides in 002_6afe73c36a0a240a.txt).
-- (a) softmax(z/T) flattens as the temperature T grows.
-- (b) A big teacher MLP trained on all of Fashion-MNIST; a 21x smaller
--     student trained on 2,000 images alone, or on the notes' loss
--     alpha*CE(student, y) + beta*T^2*KL(teacher/T || student/T).
local course = require "common"
local opts = course.start{
  name = "distillation", ids = {"S0-07"},
  notes = "000_7ab6c8be6403b5e4.txt Q3 (الف), (ب); 002_6afe73c36a0a240a.txt knowledge distillation",
}

-- (a) q_i = exp(z_i/T) / sum_j exp(z_j/T) for the logits z = (2, 0.5, -1).
local z = nn.tensor{2, 0.5, -1}
local temps = {1, 2, 5, 20}
local rows, probs, tops, entropies = {}, {}, {}, {}
for i, T in ipairs(temps) do
  local q = nn.softmax(z / T, 1)
  probs[i], tops[i] = q:totable(), q:max():item()
  entropies[i] = -(q * q:log()):sum():item() -- in nats; log 3 = 1.0986 is uniform
  rows[i] = {("softmax(z/%d)"):format(T), ("%.3f, %.3f, %.3f"):format(table.unpack(probs[i])), "—",
             ("top %.3f, entropy %.3f"):format(tops[i], entropies[i])}
end
local flatter = true
for i = 2, #temps do
  flatter = flatter and entropies[i] > entropies[i - 1] and tops[i] < tops[i - 1]
end

-- The notes' loss written out (their alpha on the hard labels, beta on the
-- soft ones; Hinton's T^2 keeps the soft gradients' scale independent of T,
-- the notes omit it) against the library's, whose alpha weighs the soft term.
local T, alpha, beta = 4, 0.1, 0.9
local s_logits, t_logits = nn.randn(64, 10) * 3, nn.randn(64, 10) * 3
local y_rand = nn.randint(1, 11, {64})
local soft_labels = nn.softmax(t_logits / T, 2) -- the teacher's outputs at temperature T
local kl = (soft_labels * (nn.log_softmax(t_logits / T, 2) - nn.log_softmax(s_logits / T, 2))):sum(2):mean()
local by_hand = (alpha * nn.cross_entropy(s_logits, y_rand) + beta * T * T * kl):item()
local library = nn.distillation_loss(s_logits, t_logits, y_rand, {T = T, alpha = beta}):item()
local loss_same = math.abs(by_hand - library) <= 1e-5

-- (b) Data: inputs normalised with the training set's mean and std
-- (--quick loads only the teacher's 5,000 images and draws the students' from them).
local n_teacher = opts.quick and 5000 or 60000
local train_x, train_y = course.fashion("train", n_teacher)
local test_x, test_y = course.fashion("test")
local mean, std = train_x:mean():item(), train_x:std():item()
train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
local test = nn.data.tensor_dataset(test_x, test_y)

local teacher = nn.Sequential{nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                              nn.Linear(256, 10)}
nn.fit(teacher, {
  train = nn.data.tensor_dataset(train_x, train_y),
  batch_size = 128, epochs = opts.quick and 1 or 5, verbose = 0,
  loss = nn.CrossEntropyLoss(), optimizer = nn.optim.Adam(teacher:parameters(), {lr = 1e-3}),
})
local teacher_acc = nn.evaluate(teacher, test, {loss = nn.CrossEntropyLoss()}).accuracy

local function student()
  return nn.Sequential{nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10)}
end
local function count(model)
  local c = 0
  for _, p in ipairs(model:parameters()) do c = c + p:numel() end
  return c
end

local n_transfer, student_epochs = opts.quick and 500 or 2000, opts.quick and 5 or 40
-- With teacher=, nn.fit trains on nn.distillation_loss: alpha weighs the
-- soft (teacher) term, so the notes' beta is alpha and their alpha is 1 - alpha.
local variants = {
  {key = "hard", name = "(i) hard labels only"},
  {key = "notes", name = "(ii) α=0.1 CE + β=0.9 T²KL", distill = {T = T, alpha = 0.9}},
  {key = "equal", name = "(iii) α=β=0.5", distill = {T = T, alpha = 0.5}},
}
local runs = course.seeds(opts, opts.quick and 1 or 3, function()
  -- a fresh random transfer set of n_transfer training images per seed
  local pick = nn.randperm(train_x:size(1)):narrow(1, 1, n_transfer)
  local transfer = nn.data.tensor_dataset(train_x:index_select(1, pick), train_y:index_select(1, pick))
  local res = {}
  for _, v in ipairs(variants) do
    local model = student()
    local h = nn.fit(model, {
      train = transfer, val = test, batch_size = 64, epochs = student_epochs, verbose = 0,
      loss = nn.CrossEntropyLoss(), teacher = v.distill and teacher or nil, distill = v.distill,
      optimizer = nn.optim.Adam(model:parameters(), {lr = 1e-3}),
    })
    res[v.key] = h.val_accuracy
  end
  return res
end)
-- per variant: the mean over seeds of the test accuracy at each epoch
local curves, final = {}, {}
for _, v in ipairs(variants) do
  curves[v.key] = {}
  for e = 1, student_epochs do
    local at = {}
    for i, r in ipairs(runs) do at[i] = r[v.key][e] end
    curves[v.key][e] = course.mean(at)
  end
  final[v.key] = curves[v.key][student_epochs]
end

rows[#rows + 1] = {"top probability, T = 1 → 20", table.concat({("%.2f"):format(tops[1]), ("%.2f"):format(tops[2]),
  ("%.2f"):format(tops[3]), ("%.2f"):format(tops[4])}, ", "), "higher T: the likeliest class tends to one",
  "notes error: reversed; a higher T flattens the distribution (as the sentence before says)"}
rows[#rows + 1] = {"soft_labels", "the teacher's softmax(z/T)", "the real labels of the data (hard labels)",
  "notes error: soft labels are the teacher's outputs at temperature T"}
rows[#rows + 1] = {"notes' loss by hand (T=4, α=0.1, β=0.9, ×T²)", by_hand, "α·CE + β·KL (no T²)", "64 random logits"}
rows[#rows + 1] = {"nn.distillation_loss{T=4, alpha=0.9}", library, "—", ("|difference| %.1e"):format(math.abs(by_hand - library))}
rows[#rows + 1] = {"teacher test accuracy", teacher_acc, "—", ("784-512-256-10, %d parameters, %d images"):format(count(teacher), n_teacher)}
for _, v in ipairs(variants) do
  rows[#rows + 1] = {"student " .. v.name, final[v.key], v.key == "notes" and "close to the teacher with less data" or "—",
    ("784-32-10, %d parameters, %d images, %d epochs, mean of %d seeds"):format(count(student()), n_transfer,
      student_epochs, #runs)}
end
course.table(rows)

local gain, gap = final.notes - final.hard, teacher_acc - final.notes
-- --quick checks the temperature and the loss only (5 epochs on 500 images are too few for the rest).
course.verdict("S0-07", flatter and loss_same and (opts.quick or (gain >= 0.005 and gap <= 0.08)),
  "entropy %.3f < %.3f < %.3f < %.3f and top probability %.3f > %.3f > %.3f > %.3f for T = 1, 2, 5, 20 " ..
  "(notes error: the notes' second sentence reverses this); hand-written loss %.6f vs nn.distillation_loss %.6f " ..
  "(|Δ| %.1e <= 1e-5); distilled student %.4f − hard-label student %.4f = %.4f >= 0.005; teacher %.4f − distilled %.4f = %.4f <= 0.08 " ..
  "((iii) α=β=0.5: %.4f)%s",
  entropies[1], entropies[2], entropies[3], entropies[4], tops[1], tops[2], tops[3], tops[4], by_hand, library,
  math.abs(by_hand - library), final.notes, final.hard, gain, teacher_acc, final.notes, gap, final.equal,
  opts.quick and " (--quick: the students are not checked)" or "")

local series = {}
for i, T_i in ipairs(temps) do series[i] = {name = ("T = %d"):format(T_i), y = probs[i]} end
nn.plot.bar({"z = 2", "z = 0.5", "z = −1"}, course.plot_path(opts, "temperature.png"),
  {series = series, title = "000_7ab6c8be6403b5e4.txt Q3 (alef): softmax(z/T) of z = (2, 0.5, −1)", xlabel = "logit", ylabel = "probability"})
local lines = {}
for _, v in ipairs(variants) do lines[#lines + 1] = {name = v.name, y = curves[v.key]} end
lines[#lines + 1] = {name = "teacher", x = {1, student_epochs}, y = {teacher_acc, teacher_acc}, style = "dashed", marker = "none"}
nn.plot.lines(lines, course.plot_path(opts, "students.png"),
  {title = ("000_7ab6c8be6403b5e4.txt Q3 (be): students on %d images (mean of %d seeds)"):format(n_transfer, #runs),
   xlabel = "epoch", ylabel = "test accuracy"})
course.finish()
